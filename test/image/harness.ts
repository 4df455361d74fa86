/**
 * Real-process harness for the entrypoint: a private network namespace per test, a fake app that
 * listens until told to close, and the generated entrypoint (under a chosen shell) running a fake
 * pilot-agent that records the signals it receives.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FAKE_DIR = fileURLToPath(new URL('./fake/', import.meta.url));

/** Root (network namespaces) or a reason to skip; CI (MESHDRAIN_REQUIRE_ROOT_TESTS=1) must not skip. */
export function rootSkipReason(): string | undefined {
  if (process.getuid?.() === 0) return undefined;
  if (process.env.MESHDRAIN_REQUIRE_ROOT_TESTS === '1') {
    throw new Error('entrypoint tests need root (network namespaces) and MESHDRAIN_REQUIRE_ROOT_TESTS=1 forbids skipping');
  }
  return 'needs root for network namespaces';
}

/**
 * gapMs: pause between signals sent back to back. bash 5.2 can drop a trapped signal that arrives
 * within about a millisecond of another while the shell sits in `wait` (measured; see
 * docs/adr/020-image-entrypoint-signals.md); dash and busybox get none.
 */
export const SHELLS: { name: string; argv: string[]; gapMs: number }[] = [
  { name: 'dash', argv: ['dash'], gapMs: 0 },
  { name: 'bash', argv: ['bash'], gapMs: 50 },
  { name: 'busybox sh', argv: ['busybox', 'sh'], gapMs: 0 },
];

export interface Rec {
  t: number;
  event: string;
  sig?: string;
  code?: number;
  pid?: number;
  argv?: string[];
}

export function readRecs(file: string): Rec[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until cond() is truthy (every 10 ms); throws with `what` after limitMs. */
export async function until<T>(what: string, cond: () => T | undefined | false, limitMs = 5000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

let counter = 0;

/** One test's world: a netns, a temp dir with the fake agent, and every process it started. */
export class Pod {
  readonly ns = `mdimg${process.pid}x${counter++}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'meshdrain-image-'));
  readonly agentLog = join(this.dir, 'agent.log');
  readonly appLog = join(this.dir, 'app.log');
  /** Path of the fake pilot-agent (plain characters, as the generator demands). */
  readonly agentPath = join(this.dir, 'pilot-agent');
  private procs: ChildProcess[] = [];
  app?: ChildProcess;
  ep?: ChildProcess;
  epOut = '';
  epExit?: Promise<{ code: number | null; signal: NodeJS.Signals | null; t: number }>;

  constructor() {
    ip('netns', 'add', this.ns);
    ip('-n', this.ns, 'link', 'set', 'lo', 'up');
    // Shebang with node's absolute path: the entrypoint may run with a PATH that has no node.
    const src = readFileSync(join(FAKE_DIR, 'pilot-agent.mjs'), 'utf8').replace(/^#!.*\n/, `#!${process.execPath}\n`);
    writeFileSync(this.agentPath, src);
    chmodSync(this.agentPath, 0o755);
    copyFileSync(join(FAKE_DIR, 'app.mjs'), join(this.dir, 'app.mjs'));
  }

  /** Start the fake app listening on port (in the namespace); resolves once it listens. */
  async startApp(port = 8080, host = '0.0.0.0'): Promise<void> {
    this.app = this.spawnIn([process.execPath, join(this.dir, 'app.mjs')], { FAKE_APP_LOG: this.appLog, FAKE_APP_PORT: String(port), FAKE_APP_HOST: host });
    await until('the app to listen', () => readRecs(this.appLog).some((r) => r.event === 'listening'));
  }

  /** Tell the app to close its listener; returns the moment it started closing (its own clock record). */
  async closeApp(): Promise<number> {
    this.app!.kill('SIGUSR2');
    const r = await until('the app to close', () => readRecs(this.appLog).find((x) => x.event === 'closed') && readRecs(this.appLog).find((x) => x.event === 'closing'));
    return r.t;
  }

  /** Run the entrypoint script under a shell in the namespace. */
  startEntrypoint(script: string, shell: string[], args: string[], env: Record<string, string> = {}): ChildProcess {
    const file = join(this.dir, 'meshdrain-entrypoint');
    writeFileSync(file, script, { mode: 0o755 });
    const ep = this.spawnIn([...shell, file, ...args], { FAKE_AGENT_LOG: this.agentLog, ...env });
    ep.stdout!.on('data', (d: Buffer) => (this.epOut += d.toString()));
    ep.stderr!.on('data', (d: Buffer) => (this.epOut += d.toString()));
    this.epExit = new Promise((res) => ep.on('exit', (code, signal) => res({ code, signal, t: Date.now() })));
    this.ep = ep;
    return ep;
  }

  agentRecs(): Rec[] {
    return readRecs(this.agentLog);
  }

  signalsSeen(): string[] {
    return this.agentRecs()
      .filter((r) => r.event === 'signal')
      .map((r) => r.sig!);
  }

  /** until(), with the entrypoint's log and pilot-agent's records in the failure message. */
  async until<T>(what: string, cond: () => T | undefined | false, limitMs = 5000): Promise<T> {
    try {
      return await until(what, cond, limitMs);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- entrypoint output:\n${this.epOut}--- pilot-agent records:\n${readFileSync(this.agentLog, 'utf8')}`);
    }
  }

  async agentStarted(): Promise<Rec> {
    return until('pilot-agent to start', () => this.agentRecs().find((r) => r.event === 'start'));
  }

  /** Spawn in the namespace. `ip netns exec` execs the command, so the pid is the command's own. */
  private spawnIn(argv: string[], env: Record<string, string>): ChildProcess {
    const p = spawn(IP, ['netns', 'exec', this.ns, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(p);
    return p;
  }

  /** Kill everything in the namespace and everything we started, then delete both. */
  async cleanup(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (let i = 0; i < 50; i++) {
      const pids = spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await sleep(20);
    }
    spawnSync('ip', ['netns', 'del', this.ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

/** Absolute, so a test may give the entrypoint a PATH without ip in it. */
const IP = spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim() || '/usr/sbin/ip';
