// Starts and stops a throwaway etcd cluster on loopback for fault tests: each member on its own
// ports and data dir, killed and restarted by PID. Node-only on purpose.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEtcd, freePorts } from './etcd.ts';

export interface ClusterOptions {
  /** Number of members (default 3). */
  size?: number;
  /** Extra flags for every member. */
  args?: string[];
  /** How long a member may take to become healthy, in ms (default 30 000). */
  startTimeout?: number;
}

export interface EtcdCluster {
  /** Client URLs, one per member, in member order. */
  readonly endpoints: readonly string[];
  readonly dataDir: string;
  /** PID of member `i`, or undefined while it is down. */
  pid(i: number): number | undefined;
  /** Kills member `i` with SIGKILL (keeping its data) and waits until it has exited. */
  kill(i: number): Promise<void>;
  /** Starts member `i` again on its ports and data and waits until it answers `/health`. */
  restart(i: number): Promise<void>;
  /** Stops member `i` with SIGSTOP: its ports stay open but nothing answers (a hung machine). */
  freeze(i: number): void;
  /** Lets a frozen member `i` run again (SIGCONT). */
  thaw(i: number): void;
  /** Index of the current leader, asking the members that are up (undefined when none knows). */
  leaderIndex(): Promise<number | undefined>;
  /** Kills every member and removes the data. */
  stop(): Promise<void>;
}

interface Member {
  name: string;
  endpoint: string;
  args: string[];
  logFile: string;
  child: ChildProcess | undefined;
}

const live = new Set<ChildProcess>();
function killAll(): void {
  for (const child of live) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
}
process.once('exit', killAll);
// A test runner that times out sends SIGTERM: no member may outlive it.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

/** A member that exited while starting: most often a port another process took meanwhile. */
class MemberExitedError extends Error {}

/**
 * Starts a cluster of `size` members on free loopback ports and waits until every member is
 * healthy. A port found free may be taken by another process before etcd binds it: a start that
 * loses a member that way is tried again on new ports (three times in all).
 */
export async function startCluster(options: ClusterOptions = {}): Promise<EtcdCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (error) {
      if (attempt === 3 || !(error instanceof MemberExitedError)) throw error;
    }
  }
}

async function startClusterOnce(options: ClusterOptions): Promise<EtcdCluster> {
  const binary = findEtcd();
  const size = options.size ?? 3;
  const startTimeout = options.startTimeout ?? 30_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'etcd-fetch-cluster-'));
  const found = await freePorts(2 * size);
  const ports = Array.from({ length: size }, (_, i) => ({ client: found[2 * i]!, peer: found[2 * i + 1]! }));
  const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
  const members: Member[] = ports.map((p, i) => {
    const endpoint = `http://127.0.0.1:${p.client}`;
    const peer = `http://127.0.0.1:${p.peer}`;
    return {
      name: `m${i}`,
      endpoint,
      logFile: join(dataDir, `m${i}.log`),
      child: undefined,
      args: [
        '--name',
        `m${i}`,
        '--data-dir',
        join(dataDir, `m${i}`),
        '--listen-client-urls',
        endpoint,
        '--advertise-client-urls',
        endpoint,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-token',
        `etcd-fetch-${process.pid}-${ports[0]!.client}`,
        '--initial-cluster-state',
        'new',
        '--log-level',
        'warn',
        ...(options.args ?? []),
      ],
    };
  });

  const launch = (member: Member) => {
    const log = openSync(member.logFile, 'a');
    const child = spawn(binary, member.args, { stdio: ['ignore', log, log] });
    closeSync(log);
    member.child = child;
    live.add(child);
    child.once('exit', () => {
      live.delete(child);
      if (member.child === child) member.child = undefined;
    });
  };
  const kill = async (member: Member) => {
    const child = member.child;
    if (!child || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGKILL');
    await exited;
  };
  const stop = async () => {
    await Promise.all(members.map(kill));
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    for (const member of members) launch(member);
    await Promise.all(members.map((m) => waitHealthy(m, startTimeout)));
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    endpoints: members.map((m) => m.endpoint),
    dataDir,
    pid: (i) => member(i).child?.pid,
    kill: (i) => kill(member(i)),
    freeze: (i) => signal(member(i), 'SIGSTOP'),
    thaw: (i) => signal(member(i), 'SIGCONT'),
    async restart(i) {
      const m = member(i);
      if (m.child) throw new Error(`member ${i} is running`);
      launch(m);
      await waitHealthy(m, startTimeout);
    },
    async leaderIndex() {
      const ids = await Promise.all(members.map((m) => (m.child ? status(m.endpoint) : Promise.resolve(undefined))));
      const leader = ids.find((s) => s?.leader !== undefined && s.leader !== '0')?.leader;
      const index = ids.findIndex((s) => s?.memberId === leader);
      return index < 0 ? undefined : index;
    },
    stop,
  };

  function signal(m: Member, name: 'SIGSTOP' | 'SIGCONT'): void {
    if (m.child?.pid === undefined) throw new Error(`member ${m.name} is not running`);
    process.kill(m.child.pid, name);
  }

  function member(i: number): Member {
    const m = members[i];
    if (!m) throw new Error(`no member ${i} in a cluster of ${members.length}`);
    return m;
  }
}

async function status(
  endpoint: string,
): Promise<{ leader: string | undefined; memberId: string | undefined } | undefined> {
  try {
    const response = await fetch(`${endpoint}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await response.json()) as { leader?: string; header?: { member_id?: string } };
    return { leader: body.leader, memberId: body.header?.member_id };
  } catch {
    return undefined;
  }
}

async function waitHealthy(member: Member, timeout: number): Promise<void> {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    if (!member.child)
      throw new MemberExitedError(`etcd member ${member.name} exited while starting: ${logTail(member.logFile)}`);
    try {
      const response = await fetch(`${member.endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `etcd member ${member.name} at ${member.endpoint} was not healthy within ${timeout} ms; see ${member.logFile}`,
  );
}

/** The last lines of a member's log (it is removed with the cluster's data). */
function logTail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '(no log)';
  }
}

// `node scripts/cluster.ts`: run a 3-member cluster in the foreground until Ctrl-C.
if (import.meta.main) {
  const cluster = await startCluster();
  console.log(`etcd cluster is up: ${cluster.endpoints.join(',')} (data in ${cluster.dataDir}); Ctrl-C stops it`);
  process.once('exit', () => rmSync(cluster.dataDir, { recursive: true, force: true }));
}
