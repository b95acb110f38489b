// Builds every public object of a client (and of a namespace of it) against a real etcd with
// authentication on, uses each, and looks at everything reachable from them the ways a runtime
// can: its own inspect (`view`), JSON.stringify, String, and a walk of every property (getters
// and prototype getters called, Map and Set entries, symbols and non-enumerable keys included).
// Plain JavaScript with no Node API, so Node, Deno and Bun run the same file.
//
// `secrets` are the exact strings that must never show (a password, a static token);
// `tokenPattern` matches any token etcd hands out (simple tokens: 16 letters, a dot, an index),
// since a client that logs in with a password learns a token the test never sees.
// Resolves with every leak found, as "what: where" lines (empty: nothing leaked).
export async function findLeaks(lib, { endpoint, auth, secrets, tokenPattern, view, runtime }) {
  const {
    Etcd,
    RelayPool,
    authStatus,
    clusterStatus,
    gatewayCampaign,
    gatewayLock,
    gatewayResign,
    gatewayUnlock,
    memberList,
    relayWatch,
    status,
    session: openSession,
    lock: takeLock,
    election: electionOf,
    reflect,
    stm,
  } = lib;
  const prefix = `secrets/${runtime}/${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}/`;
  const roots = [];
  const leaks = [];
  const root = (name, value) => {
    roots.push([name, value]);
    return value;
  };
  const shows = (text) => secrets.some((secret) => text.includes(secret)) || tokenPattern.test(text);
  const check = (name) => {
    for (const [what, value] of roots) look(`${name}: ${what}`, value, view, shows, leaks);
  };

  const etcd = root('client', new Etcd({ endpoints: [endpoint], auth }));
  const cleanups = [];
  try {
    const ns = root('namespace', etcd.namespace(prefix));
    root('client.transport', etcd.transport);
    // Calls still in flight (the token is being fetched or sent) are looked at too.
    const inFlight = [ns.put('a', '1'), ns.get('a'), etcd.put(`${prefix}b`, '2')];
    check('calls in flight');
    await Promise.all(inFlight);

    const watch = root('watch', ns.watch({ prefix: 'w/' }));
    const iterator = root('watch iterator', watch[Symbol.asyncIterator]());
    await watch.ready;
    await ns.put('w/x', 'v');
    root('watch event', (await iterator.next()).value);
    cleanups.push(() => watch.close?.() ?? iterator.return?.());

    const lease = root('lease', await ns.grant(30));
    cleanups.push(() => lease.revoke().catch(() => {}));
    root('lease time to live', await lease.timeToLive({ keys: true }));

    const session = root('session', await openSession(ns, { ttl: 30 }));
    cleanups.push(() => session.close().catch(() => {}));
    const lock = root('lock', await takeLock(ns, 'l', { session }));
    cleanups.push(() => lock.unlock().catch(() => {}));
    const election = root('election', electionOf(ns, 'e'));
    const leadership = root('leadership', await election.campaign('me', { session }));
    cleanups.push(() => leadership.resign().catch(() => {}));
    root('election leader', await election.leader());

    const reflector = root('reflector', reflect(ns, { prefix: 'w/' }));
    const updates = reflector[Symbol.asyncIterator]();
    root('reflector update', (await updates.next()).value);
    cleanups.push(() => reflector.close());

    let tx;
    root(
      'stm commit',
      await stm(ns, async (stmTx) => {
        tx = stmTx;
        const a = await stmTx.get('a');
        stmTx.put('c', `${a}!`);
        return a;
      }),
    );
    root('stm tx', tx);

    root('txn builder', ns.txn());
    root('scan', ns.scan({ prefix: 'w/' }));
    root('range', await ns.range({ prefix: '' }));

    const held = root('gateway lock', await gatewayLock(ns, 'gl', { lease, timeout: 5_000 }));
    cleanups.push(() => gatewayUnlock(ns, held.key).catch(() => {}));
    const leader = root('gateway election', await gatewayCampaign(ns, 'ge', 'me', { lease, timeout: 5_000 }));
    cleanups.push(() => gatewayResign(ns, leader).catch(() => {}));

    root('member list', await memberList(etcd));
    root('cluster status', await clusterStatus(etcd));
    root('status', await status(etcd));
    root('auth status', await authStatus(etcd));
    root('an error', await ns.get('a', { revision: 1e12 }).catch((error) => error));

    const pool = root('relay pool', new RelayPool());
    const secret = 'relay-resume-secret-of-at-least-32-characters';
    const controller = new AbortController();
    const response = root(
      'relay response',
      await relayWatch(
        ns,
        new Request('http://relay.test/events', { signal: controller.signal }),
        { prefix: 'w/' },
        { pool, resumeSecret: secret },
      ),
    );
    const reader = response.body.getReader();
    for (let text = ''; !text.includes('event: ready'); ) text += new TextDecoder().decode((await reader.read()).value);
    cleanups.push(() => {
      controller.abort();
      return reader.cancel().catch(() => {});
    });

    check('everything in use');
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await etcd.del({ prefix }).catch(() => {});
    etcd.close();
  }
  check('after close');
  return leaks;
}

/** Every view of `value`, and every string reachable from it. */
function look(what, value, view, shows, leaks) {
  const report = (how, text) => leaks.push(`${what}: ${how} shows a secret: ${excerpt(text, shows)}`);
  for (const [how, render] of [
    ['inspect', view],
    ['JSON.stringify', (v) => JSON.stringify(v) ?? ''],
    ['String', (v) => String(v)],
  ]) {
    let text;
    try {
      text = render(value);
    } catch {
      continue; // a cycle (JSON) or no toString: nothing is shown
    }
    if (shows(text)) report(how, text);
  }
  for (const [path, text] of strings(value)) if (shows(text)) report(`property ${path}`, text);
}

/** Every string reachable from `value` through properties, getters and collection entries. */
function strings(value) {
  const found = [];
  const seen = new Set();
  const queue = [[value, '']];
  while (queue.length > 0 && seen.size < 20_000) {
    const [item, path] = queue.shift();
    if (typeof item === 'string') {
      found.push([path, item]);
      continue;
    }
    if ((typeof item !== 'object' && typeof item !== 'function') || item === null || seen.has(item)) continue;
    seen.add(item);
    const add = (key, child) => queue.push([child, `${path}.${String(key)}`]);
    if (item instanceof Map) for (const [k, v] of item) add(`get(${String(k)})`, v), add('key', k);
    if (item instanceof Set) for (const v of item) add('entry', v);
    if (ArrayBuffer.isView(item)) continue;
    for (
      let object = item;
      object !== null && object !== Object.prototype && object !== Function.prototype;
      object = Object.getPrototypeOf(object)
    ) {
      for (const key of Reflect.ownKeys(object)) {
        if (key === 'constructor' || key === 'caller' || key === 'callee' || key === 'arguments') continue;
        const descriptor = Object.getOwnPropertyDescriptor(object, key);
        if (descriptor === undefined) continue;
        if ('value' in descriptor) {
          if (object === item) add(key, descriptor.value);
        } else if (descriptor.get !== undefined) {
          try {
            add(key, descriptor.get.call(item));
          } catch {
            // a getter that refuses this receiver shows nothing
          }
        }
      }
    }
  }
  return found;
}

function excerpt(text, shows) {
  for (let at = 0; at < text.length; at += 100) {
    if (shows(text.slice(at, at + 300))) return JSON.stringify(text.slice(Math.max(0, at - 100), at + 300));
  }
  return JSON.stringify(text.slice(0, 300));
}
