// Starts and stops throwaway etcd servers on loopback for tests, benchmarks and the playground.
// Node-only on purpose: it spawns processes and touches the file system.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { builtEtcd, isBuiltLine, serverModule } from './etcd-builds.ts';

export interface EtcdServerOptions {
  /** The etcd program to run (default: findEtcd()). */
  binary?: string;
  /** Extra flags, e.g. `['--auth-token-ttl', '8']`. */
  args?: string[];
  /** Value of `--cors` (default `*`). */
  cors?: string;
  /** Member name (default `etcd-fetch`). */
  name?: string;
  /** Fixed client port (default: a free one). */
  clientPort?: number;
  /** Fixed peer port (default: a free one). */
  peerPort?: number;
  /**
   * Join an existing cluster: the `--initial-cluster` value naming every member with its peer
   * URL, this one included (add it first with `cluster.addMember`). Default: a cluster of one.
   */
  join?: string;
  /** Start on this data directory (one `etcdctl snapshot restore` wrote); the caller removes it. */
  dataDir?: string;
  /**
   * Keep the data in memory (a folder on /dev/shm where there is one), so fsync costs nothing: for
   * tests whose subject is the client under a write load the disk could not carry on a busy machine.
   */
  inMemory?: boolean;
  /** Serve clients over TLS (`https://127.0.0.1:P`); peers stay on plain HTTP. */
  tls?: EtcdTlsOptions;
}

export interface EtcdTlsOptions {
  /**
   * The server certificate (PEM file), valid for 127.0.0.1: `--cert-file`. etcd's gateway dials
   * its own gRPC port presenting this certificate, so with `clientCertAuth` it must also allow
   * clientAuth in its extendedKeyUsage.
   */
  certFile: string;
  /** Its key: `--key-file`. */
  keyFile: string;
  /**
   * The CA that signed `certFile`, which the health check trusts. With `clientCertAuth` it is
   * also `--trusted-ca-file` (etcd 3.4 requires a client certificate whenever that flag is set,
   * so it is not passed without `clientCertAuth`).
   */
  caFile: string;
  /** Require a client certificate signed by `caFile`: `--client-cert-auth --trusted-ca-file`. */
  clientCertAuth?: boolean;
  /** With `clientCertAuth`: the client certificate and key the health check presents. */
  clientCertFile?: string;
  clientKeyFile?: string;
}

export interface EtcdServer {
  readonly endpoint: string;
  /** The URL other members reach this one at. */
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  /** Kills the process with SIGKILL, keeping its data (to restart it later). */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data and waits until it is healthy. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  stop(): Promise<void>;
}

/**
 * Finds etcd: `ETCD_BIN`; else, with `ETCD_SERVER_VERSION` naming 3.5, 3.6 or 3.7, the real server of that
 * line built from its Go module (scripts/etcd-builds.ts); else `PATH` (Debian's 3.4.23), installing
 * Debian's etcd-server when allowed.
 */
export function findEtcd(): string {
  const fromEnv = process.env.ETCD_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`ETCD_BIN points to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const line = process.env.ETCD_SERVER_VERSION;
  if (line && line !== '3.4') {
    if (!isBuiltLine(line)) throw new Error(`ETCD_SERVER_VERSION=${line} is not one of 3.4, 3.5, 3.6, 3.7`);
    const built = builtEtcd(line);
    if (built === undefined) {
      throw new Error(
        `ETCD_SERVER_VERSION=${line}: etcd ${serverModule(line).version} is not built yet; run \`node scripts/test-prerequisites.ts\``,
      );
    }
    return built;
  }
  const onPath = lookPath('etcd');
  if (onPath) return onPath;
  const canApt = process.getuid?.() === 0 && lookPath('apt-get') !== undefined;
  if (canApt) {
    console.error("etcd not found: installing Debian's etcd-server with apt-get ...");
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    const install = spawnSync('apt-get', ['install', '-y', '-qq', 'etcd-server'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const found = lookPath('etcd');
    if (update.status === 0 && install.status === 0 && found) return found;
  }
  throw new Error(
    'etcd was not found. Install it (Debian/Ubuntu: `sudo apt-get install etcd-server`; others: an etcd 3.4+ release ' +
      'binary), or set ETCD_BIN to its path, or ETCD_ENDPOINTS to a running etcd started with --cors.',
  );
}

/** The path of a program on PATH (or in the usual system folders), if any. */
export function lookPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/sbin'])
    if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** `count` different free loopback ports: each stays bound until all are found, so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer().unref());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.on('error', reject);
            server.listen(0, '127.0.0.1', () => {
              const address = server.address();
              if (typeof address === 'object' && address) resolve(address.port);
              else reject(new Error('no port'));
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  }
}

/** Starts a throwaway etcd on free loopback ports with its own data dir, and waits for `/health`. */
export async function startEtcd(options: EtcdServerOptions = {}): Promise<EtcdServer> {
  const binary = options.binary ?? findEtcd();
  const [freeClient, freePeer] = await freePorts(2);
  const clientPort = options.clientPort ?? freeClient!;
  const peerPort = options.peerPort ?? freePeer!;
  const name = options.name ?? 'etcd-fetch';
  const dataDir = mkdtempSync(join(options.inMemory && existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'etcd-fetch-'));
  const logFile = `${dataDir}.log`;
  const tls = options.tls;
  if (tls?.clientCertAuth && !(tls.clientCertFile && tls.clientKeyFile)) {
    throw new Error('tls.clientCertAuth needs clientCertFile and clientKeyFile for the health check');
  }
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name',
    name,
    '--data-dir',
    options.dataDir ?? join(dataDir, 'data'),
    '--listen-client-urls',
    endpoint,
    '--advertise-client-urls',
    endpoint,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    options.join ?? `${name}=${peer}`,
    ...(options.join ? ['--initial-cluster-state', 'existing'] : []),
    '--cors',
    options.cors ?? '*',
    '--log-level',
    'warn',
    ...(tls ? ['--cert-file', tls.certFile, '--key-file', tls.keyFile] : []),
    ...(tls?.clientCertAuth ? ['--client-cert-auth', '--trusted-ca-file', tls.caFile] : []),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;

  const launch = async () => {
    const log = openSync(logFile, 'a');
    child = spawn(binary, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    child.once('exit', () => (child = undefined));
    await waitHealthy(endpoint, () => child === undefined, logFile, tls);
  };
  const kill = async () => {
    const running = child;
    if (!running) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };

  await launch();
  const server: EtcdServer = {
    endpoint,
    peerUrl: peer,
    dataDir,
    logFile,
    get pid() {
      return child?.pid;
    },
    kill,
    restart: launch,
    async stop() {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(logFile, { force: true });
    },
  };
  running.add(server);
  return server;
}

const running = new Set<EtcdServer>();
process.once('exit', () => {
  for (const server of running) if (server.pid) process.kill(server.pid, 'SIGKILL');
});

async function waitHealthy(
  endpoint: string,
  exited: () => boolean,
  logFile: string,
  tls?: EtcdTlsOptions,
): Promise<void> {
  const until = Date.now() + 20_000;
  const check = tls ? httpsHealth(endpoint, tls) : fetchHealth(endpoint);
  while (Date.now() < until) {
    if (exited()) throw new Error(`etcd exited while starting; see ${logFile}`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${endpoint} was not healthy within 20 s; see ${logFile}`);
}

function fetchHealth(endpoint: string): () => Promise<boolean> {
  return async () => {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
    const body = (await response.json()) as { health?: string };
    return body.health === 'true';
  };
}

/** Node's global fetch cannot trust another CA (without undici's Agent), so TLS health goes through node:https. */
function httpsHealth(endpoint: string, tls: EtcdTlsOptions): () => Promise<boolean> {
  const ca = readFileSync(tls.caFile);
  const cert = tls.clientCertFile ? readFileSync(tls.clientCertFile) : undefined;
  const key = tls.clientKeyFile ? readFileSync(tls.clientKeyFile) : undefined;
  return () =>
    new Promise<boolean>((resolve, reject) => {
      const request = httpsRequest(
        `${endpoint}/health`,
        { ca, cert, key, agent: false, timeout: 1_000 },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            try {
              resolve((JSON.parse(text) as { health?: string }).health === 'true');
            } catch {
              resolve(false);
            }
          });
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error('health check timed out')));
      request.on('error', reject);
      request.end();
    });
}

// `node scripts/etcd.ts`: run one in the foreground until Ctrl-C.
if (import.meta.main) {
  const server = await startEtcd({ clientPort: Number(process.env.ETCD_PORT ?? 0) || undefined });
  console.log(`etcd is up at ${server.endpoint} (data in ${server.dataDir}); Ctrl-C stops it`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
