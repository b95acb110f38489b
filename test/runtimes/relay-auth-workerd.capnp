# workerd runs the relay-behind-auth example: workerd serve test/runtimes/relay-auth-workerd.capnp
# --socket-addr http=127.0.0.1:PORT with ETCD_ENDPOINT, WATCH_PREFIX, ALLOW_ORIGIN, AUTH_SECRET and
# RELAY_SECRET in its environment.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "relay", worker = .relay),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8789", http = (), service = "relay")],
);

const relay :Workerd.Worker = (
  modules = [
    (name = "relay-auth-worker.js", esModule = embed "relay-auth-worker.js"),
    (name = "etcd-fetch.browser.js", esModule = embed "../../dist/etcd-fetch.browser.js"),
  ],
  bindings = [
    (name = "ETCD_ENDPOINT", fromEnvironment = "ETCD_ENDPOINT"),
    (name = "WATCH_PREFIX", fromEnvironment = "WATCH_PREFIX"),
    (name = "ALLOW_ORIGIN", fromEnvironment = "ALLOW_ORIGIN"),
    (name = "AUTH_SECRET", fromEnvironment = "AUTH_SECRET"),
    (name = "RELAY_SECRET", fromEnvironment = "RELAY_SECRET"),
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
);
