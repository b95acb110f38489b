# workerd serves test/runtimes/worker.js, which imports the built browser bundle.
# The test runs: workerd serve test/runtimes/workerd.capnp --socket-addr http=127.0.0.1:PORT
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # workerd refuses loopback fetches unless the outbound network allows them.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "smoke.js", esModule = embed "smoke.js"),
    (name = "etcd-fetch.browser.js", esModule = embed "../../dist/etcd-fetch.browser.js"),
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
);
