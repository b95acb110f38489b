# Runs the example locally in workerd (Durable Objects in memory), from this folder after
# `npm install etcd-fetch workerd`, with ETCD_ENDPOINT, WATCH_PREFIX, ALLOW_ORIGIN and RELAY_SECRET set:
#   npx workerd serve workerd.capnp --socket-addr http=127.0.0.1:8789
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
    (name = "worker.js", esModule = embed "worker.js"),
    # etcd-fetch/browser holds every entry: the relay entry is a name for the same module.
    (name = "etcd-fetch", esModule = embed "node_modules/etcd-fetch/dist/etcd-fetch.browser.js"),
    (name = "etcd-fetch/relay", esModule = "export { RelayPool, relayWatch } from '/etcd-fetch';"),
  ],
  durableObjectNamespaces = [(className = "RelayRoom", uniqueKey = "etcd-fetch-relay-room")],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "RELAY_ROOMS", durableObjectNamespace = "RelayRoom"),
    (name = "ETCD_ENDPOINT", fromEnvironment = "ETCD_ENDPOINT"),
    (name = "WATCH_PREFIX", fromEnvironment = "WATCH_PREFIX"),
    (name = "ALLOW_ORIGIN", fromEnvironment = "ALLOW_ORIGIN"),
    (name = "RELAY_SECRET", fromEnvironment = "RELAY_SECRET"),
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
);
