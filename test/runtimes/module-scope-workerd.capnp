# workerd serves test/runtimes/module-scope-worker.js (one client at module scope).
# The test runs: workerd serve test/runtimes/module-scope-workerd.capnp --socket-addr http=127.0.0.1:PORT
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
    (name = "worker.js", esModule = embed "module-scope-worker.js"),
    (name = "etcd-fetch.browser.js", esModule = embed "../../dist/etcd-fetch.browser.js"),
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
);
