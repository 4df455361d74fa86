/**
 * A pod-like network namespace for the hook tests and bench: real sockets held by processes named
 * envoy / pilot-agent / app (node exec'd through symlinks of those names), the hold script run under
 * real shells. Everything created is removed by destroy() (call it from afterAll / finally).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { netnsTag } from '../helpers/netns-tag.js';

export const LISTENER = fileURLToPath(new URL('./listener.mjs', import.meta.url));
export const CLIENT = fileURLToPath(new URL('./client.mjs', import.meta.url));

/** Addresses of Pod.addPeer: the pod's, a client's and the external service's (both in the peer namespace). */
export const POD_IP = '198.18.200.1';
export const PEER_IP = '198.18.200.2';
export const REMOTE_IP = '198.18.200.9';

export interface Client {
  proc: ChildProcess;
  /** Close every kept connection; resolves with the epoch ms taken just before. */
  close(): Promise<number>;
  /** Open the kept connections (again); resolves once they are up. */
  open(): Promise<void>;
  kill(): Promise<void>;
}

/** The shells the hold must work under: [label, argv prefix]. */
export const SHELLS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['dash', ['/usr/bin/dash']],
  ['bash', ['/usr/bin/bash']],
  ['busybox', ['/usr/bin/busybox', 'sh']],
];

/** Root + ip(8) available? If not: skip, unless MESHDRAIN_REQUIRE_ROOT_TESTS=1 (CI), then fail. */
export function rootStatus(): { ok: boolean; reason: string; required: boolean } {
  const required = process.env.MESHDRAIN_REQUIRE_ROOT_TESTS === '1';
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root for ip netns', required };
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, reason: `ip netns unavailable: ${r.stderr || r.error}`, required };
  return { ok: true, reason: '', required };
}

export interface ListenSpec {
  port: number;
  host?: string;
  ipv6Only?: boolean;
  http?: boolean;
  closeAt?: number;
}

export interface Listener {
  proc: ChildProcess;
  /** port → epoch ms taken just before its close() */
  closed: Map<number, number>;
  requests: string[];
  whenClosed(port: number): Promise<number>;
  /** Close one listener now (the process prints its close time). */
  close(port: number): Promise<number>;
  /** SIGKILL and wait until the process (and so its sockets) is gone. */
  kill(): Promise<void>;
}

export interface RunOpts {
  path: string;
  timeoutMs?: number;
  wrap?: string[];
  env?: Record<string, string>;
  /** false: no MESHDRAIN_HOLD_LOG (the script picks PID 1's stdout or stderr itself). */
  log?: boolean;
  /** Runs while the hold runs (gets the log path): e.g. close the app once the hold has started. */
  whileRunning?: (log: string) => Promise<void>;
}

/** A strategy's "holding" log line (not the start line). */
export const HOLDING = /: holding( \(port \d+ listens\))?$/m;

/** Resolve once `file` contains `re` (polls every 10 ms; rejects after `ms`). */
export async function waitForLog(file: string, re: RegExp, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (existsSync(file) && re.test(readFileSync(file, 'utf8'))) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re} in ${file}`);
    await sleep(10);
  }
}

export interface HookRun {
  code: number | null;
  startAt: number;
  exitAt: number;
  stdout: string;
  stderr: string;
  log: string;
}

let counter = 0;

export class Pod {
  readonly ns: string;
  readonly dir: string;
  private procs: ChildProcess[] = [];

  private constructor(tag: string) {
    // hook<run tag><pid>…: the run's global teardown removes it if this process is killed.
    this.ns = `hook${netnsTag()}${process.pid}${tag}${counter++}`.slice(0, 40);
    this.dir = mkdtempSync(join(tmpdir(), 'meshdrain-hook-'));
    chmodSync(this.dir, 0o755);
    for (const n of ['envoy', 'pilot-agent', 'app']) symlinkSync(process.execPath, join(this.dir, n));
  }

  static create(tag = ''): Pod {
    const pod = new Pod(tag);
    const add = spawnSync('ip', ['netns', 'add', pod.ns], { encoding: 'utf8' });
    if (add.status !== 0) {
      rmSync(pod.dir, { recursive: true, force: true });
      throw new Error(`ip netns add ${pod.ns}: ${add.stderr}`);
    }
    spawnSync('ip', ['netns', 'exec', pod.ns, 'ip', 'link', 'set', 'lo', 'up']);
    return pod;
  }

  /** Start a listener process named `name`; resolves once it prints "ready". */
  async listen(name: 'envoy' | 'pilot-agent' | 'app', listen: ListenSpec[], extra: { conns?: number; connPort?: number; peer?: boolean } = {}): Promise<Listener> {
    // Many connections need 2 fds each: raise the fd limit for that process (root may).
    const limit = extra.conns ? ['prlimit', `--nofile=${2 * extra.conns + 1024}`, '--'] : [];
    const proc = spawn('ip', ['netns', 'exec', extra.peer ? this.peerNs! : this.ns, ...limit, join(this.dir, name), LISTENER, JSON.stringify({ listen, ...extra })], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.procs.push(proc);
    const closed = new Map<number, number>();
    const waiters = new Map<number, Array<(t: number) => void>>();
    const requests: string[] = [];
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        if (line === 'ready') resolve();
        const m = /^closed (\d+) (\d+)$/.exec(line);
        if (m) {
          closed.set(Number(m[1]), Number(m[2]));
          for (const w of waiters.get(Number(m[1])) ?? []) w(Number(m[2]));
        }
        if (line.startsWith('request ')) requests.push(line.slice(8));
      });
      proc.once('exit', (code) => reject(new Error(`${name} listener exited (${code}) before ready: ${err}`)));
    });
    await ready;
    const whenClosed = (port: number): Promise<number> =>
      closed.has(port) ? Promise.resolve(closed.get(port)!) : new Promise((r) => waiters.set(port, [...(waiters.get(port) ?? []), r]));
    return {
      proc,
      closed,
      requests,
      whenClosed,
      close: (port) => {
        proc.stdin!.write(`close ${port}\n`);
        return whenClosed(port);
      },
      kill: () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
        const gone = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGKILL');
        return gone;
      },
    };
  }

  /** The peer namespace (addPeer): clients and services outside the pod. */
  peerNs?: string;

  /**
   * A second namespace joined by a veth pair: POD_IP in the pod, PEER_IP and REMOTE_IP outside it
   * (a client of the pod, the external service the app calls). destroy() removes it.
   */
  addPeer(): void {
    const peer = `${this.ns}p`.slice(0, 31);
    const run = (cmd: string[]) => {
      const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
    };
    run(['ip', 'netns', 'add', peer]);
    this.peerNs = peer;
    run(['ip', 'link', 'add', 'md0', 'netns', this.ns, 'type', 'veth', 'peer', 'name', 'md1', 'netns', peer]);
    run(['ip', '-n', this.ns, 'addr', 'add', `${POD_IP}/24`, 'dev', 'md0']);
    run(['ip', '-n', this.ns, 'link', 'set', 'md0', 'up']);
    run(['ip', '-n', peer, 'link', 'set', 'lo', 'up']);
    for (const a of [PEER_IP, REMOTE_IP]) run(['ip', '-n', peer, 'addr', 'add', `${a}/24`, 'dev', 'md1']);
    run(['ip', '-n', peer, 'link', 'set', 'md1', 'up']);
  }

  /** Start client.mjs in the namespace as `uid` (setpriv); resolves once its connections are up. */
  async client(spec: object, uid = 0, where: 'pod' | 'peer' = 'pod'): Promise<Client> {
    const drop = uid ? ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'] : [];
    const ns = where === 'peer' ? this.peerNs! : this.ns;
    const proc = spawn('ip', ['netns', 'exec', ns, ...drop, process.execPath, CLIENT, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.procs.push(proc);
    let err = '';
    const closedWaiters: Array<(t: number) => void> = [];
    const openWaiters: Array<() => void> = [];
    proc.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        if (line === 'ready') resolve();
        const m = /^closed (\d+)$/.exec(line);
        if (m) for (const w of closedWaiters.splice(0)) w(Number(m[1]));
        if (line === 'opened') for (const w of openWaiters.splice(0)) w();
      });
      proc.once('exit', (code) => reject(new Error(`client exited (${code}) before ready: ${err}`)));
    });
    return {
      proc,
      close: () =>
        new Promise<number>((r) => {
          closedWaiters.push(r);
          proc.stdin!.write('close\n');
        }),
      open: () =>
        new Promise<void>((r) => {
          openWaiters.push(r);
          proc.stdin!.write('open\n');
        }),
      kill: () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
        const gone = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGKILL');
        return gone;
      },
    };
  }

  /** A directory holding symlinks to just these tools (a PATH without netstat, ss, curl...). */
  binDir(tools: Record<string, string>): string {
    const d = mkdtempSync(join(this.dir, 'bin-'));
    chmodSync(d, 0o755);
    for (const [name, target] of Object.entries(tools)) symlinkSync(target, join(d, name));
    return d;
  }

  /**
   * Run the script under `shell` in the namespace, env cleared except PATH and the log file
   * (MESHDRAIN_HOLD_LOG, unless log: false). `wrap` prefixes the command (e.g. unshare ...).
   */
  async runHook(
    shell: readonly string[],
    script: string,
    opts: RunOpts,
  ): Promise<HookRun> {
    const file = join(this.dir, `hold-${counter++}.sh`);
    writeFileSync(file, script, { mode: 0o644 });
    return this.runArgv([...shell, file], opts);
  }

  /** Run argv (e.g. a preStop exec.command) in the namespace with a cleared environment. */
  async runArgv(
    command: readonly string[],
    opts: RunOpts,
  ): Promise<HookRun> {
    const log = join(this.dir, `log-${counter++}.txt`);
    const envArgs = [`PATH=${opts.path}`, ...(opts.log === false ? [] : [`MESHDRAIN_HOLD_LOG=${log}`])];
    for (const [k, v] of Object.entries(opts.env ?? {})) envArgs.push(`${k}=${v}`);
    const argv = ['netns', 'exec', this.ns, ...(opts.wrap ?? []), '/usr/bin/env', '-i', ...envArgs, ...command];
    const startAt = Date.now();
    const proc = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => void (stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
    const killer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    const exited = new Promise<number>((r) => proc.once('exit', () => r(Date.now())));
    const code0 = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    if (opts.whileRunning) await opts.whileRunning(log);
    const exitAt = await exited;
    const code = await code0;
    clearTimeout(killer);
    return { code, startAt, exitAt, stdout, stderr, log: existsSync(log) ? readFileSync(log, 'utf8') : '' };
  }

  /** Run a command inside the namespace (synchronously). */
  exec(cmd: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', this.ns, ...cmd], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  destroy(): void {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null && p.pid) p.kill('SIGKILL');
    // Anything else still in the namespace (e.g. grandchildren) goes too.
    const pids = spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    spawnSync('ip', ['netns', 'del', this.ns]);
    if (this.peerNs) {
      for (const pid of spawnSync('ip', ['netns', 'pids', this.peerNs], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? []) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      spawnSync('ip', ['netns', 'del', this.peerNs]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Pod-like Istio listeners: envoy on its ports, pilot-agent on 15020/15021 (as in a real pod). */
export async function istioListeners(pod: Pod): Promise<Listener[]> {
  return [
    await pod.listen('envoy', [15000, 15001, 15006, 15090].map((port) => ({ port }))),
    await pod.listen('pilot-agent', [{ port: 15020 }, { port: 15021 }, { port: 15053, host: '127.0.0.1' }]),
  ];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The hold's release contract on an idle machine: within 0.5 s after what it waits for ends. */
export const RELEASE_BOUND_MS = 500;

/**
 * How long one poll of the hold (`sleep <interval>` plus a fork) takes on this machine right now, in
 * the pod's namespace. Release bounds are relative to it: on a loaded 2-core machine a 200 ms sleep
 * can take twice that, and a fixed 500 ms bound would fail for the machine's sake, not the hold's.
 */
export class PollClock {
  private pollMs = 0;

  constructor(
    private readonly pod: Pod,
    private readonly intervalMs = 200,
  ) {}

  /** Time `rounds` sleeps of the interval under dash; keeps the slowest figure seen. */
  async measure(rounds = 4): Promise<number> {
    const script = `i=0; while [ $i -lt ${rounds} ]; do sleep ${this.intervalMs / 1000}; i=$((i+1)); done`;
    const t0 = Date.now();
    await new Promise<void>((resolve) => spawn('ip', ['netns', 'exec', this.pod.ns, '/usr/bin/dash', '-c', script], { stdio: 'ignore' }).once('exit', () => resolve()));
    const per = (Date.now() - t0) / rounds;
    this.pollMs = Math.max(this.pollMs, per);
    return per;
  }

  /** max(0.5 s, 2.5 measured polls): a change is seen within one poll, plus the scan and the exit. */
  bound(): number {
    return Math.max(RELEASE_BOUND_MS, Math.ceil(2.5 * this.pollMs));
  }

  /**
   * `afterMs` (from the event to the hold's exit) must be within the bound; when it is not, the poll
   * is measured again (the load may have changed) before judging. Any figure past 0.5 s is logged.
   */
  async expectWithin(afterMs: number, what: string, extraMs = 0): Promise<void> {
    if (this.pollMs === 0) await this.measure();
    if (afterMs > this.bound() + extraMs) await this.measure();
    const bound = this.bound() + extraMs;
    if (afterMs > RELEASE_BOUND_MS + extraMs) console.info(`${what}: ${afterMs} ms (bound ${bound} ms; one ${this.intervalMs} ms poll measured at ${Math.round(this.pollMs)} ms)`);
    expect(afterMs, `${what}: ${afterMs} ms, bound ${bound} ms = max(${RELEASE_BOUND_MS}, 2.5 × measured poll ${Math.round(this.pollMs)} ms)${extraMs ? ` + ${extraMs}` : ''}`).toBeLessThanOrEqual(bound);
  }
}
