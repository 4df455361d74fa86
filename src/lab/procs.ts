/**
 * Every process the lab starts goes through ProcTable: started inside a namespace (ip netns exec),
 * optionally as another user (setpriv), in its own process group so a container's SIGKILL reaches
 * its children, and recorded so cleanup can kill whatever is left (also on Ctrl-C and on errors).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LabEnvError } from './errors.js';
import { labEnv } from './exec.js';

export interface ProcExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface LabProc {
  name: string;
  pid: number;
  child: ChildProcess;
  startedAt: number;
  exit?: ProcExit;
  exited: Promise<ProcExit>;
  /** Last lines of stderr, for diagnostics when something dies unexpectedly. */
  stderrTail: string[];
}

export interface SpawnOptions {
  name: string;
  ns: string;
  /** Run as this UID/GID (setpriv); undefined = root. */
  uid?: number;
  env?: Record<string, string>;
  onLine?: (line: string) => void;
  /** Each stderr line as it arrives (the tail is kept either way). */
  onStderr?: (line: string) => void;
  /** Give the process /dev/null as stdin (siege reads URLs from a non-terminal stdin). */
  noStdin?: boolean;
}

/** argv that runs `cmd` inside namespace `ns`, as `uid` when given. */
export function inNsArgv(ns: string, uid: number | undefined, cmd: string[]): string[] {
  const user = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'];
  return ['ip', 'netns', 'exec', ns, ...user, ...cmd];
}

export class ProcTable {
  private readonly procs = new Set<LabProc>();
  /** Set by killAll: a step still under way (a pod being created) must not start anything after cleanup. */
  private closed = false;

  spawn(cmd: string[], opts: SpawnOptions): LabProc {
    if (this.closed) throw new LabEnvError(`not starting ${opts.name}: the lab is shutting down`);
    const argv = inNsArgv(opts.ns, opts.uid, cmd);
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [opts.noStdin ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true, // own process group: kill(-pid) reaches the container's children
      env: labEnv(opts.env),
    });
    if (child.pid === undefined) throw new LabEnvError(`could not start ${opts.name}`);
    let resolveExit!: (e: ProcExit) => void;
    const proc: LabProc = {
      name: opts.name,
      pid: child.pid,
      child,
      startedAt: Date.now(),
      exited: new Promise((r) => (resolveExit = r)),
      stderrTail: [],
    };
    child.stdin?.on('error', () => undefined);
    if (opts.onLine) {
      const onLine = opts.onLine;
      createInterface({ input: child.stdout! }).on('line', (l) => onLine(l));
    } else child.stdout?.resume();
    createInterface({ input: child.stderr! }).on('line', (l) => {
      opts.onStderr?.(l);
      proc.stderrTail.push(l);
      if (proc.stderrTail.length > 20) proc.stderrTail.shift();
    });
    // 'exit' can come before the last stderr lines are read (Node: the stdio streams may still be
    // open); a hook's outcome is read from them ("chroot: failed to run command …"). Wait for 'close',
    // but not for long: a process the hook left running can hold the pipes open.
    child.on('exit', (code, signal) => {
      proc.exit = { code, signal, at: Date.now() };
      this.procs.delete(proc);
      const done = () => resolveExit(proc.exit!);
      const t = setTimeout(done, 250);
      child.once('close', () => {
        clearTimeout(t);
        done();
      });
    });
    child.on('error', () => {
      if (!proc.exit) {
        proc.exit = { code: 127, signal: null, at: Date.now() };
        this.procs.delete(proc);
        resolveExit(proc.exit);
      }
    });
    this.procs.add(proc);
    return proc;
  }

  /** Send a signal to the process itself (like a runtime signals a container's PID 1). */
  signal(p: LabProc, sig: NodeJS.Signals): boolean {
    if (p.exit) return false;
    try {
      process.kill(p.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL the whole process group (a container's or hook's every process). */
  killGroup(p: LabProc): void {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }

  get live(): LabProc[] {
    return [...this.procs];
  }

  /** SIGKILL every process group still alive and wait (bounded) for them to be reaped. */
  async killAll(): Promise<void> {
    this.closed = true;
    const left = this.live;
    for (const p of left) this.killGroup(p);
    // The bound's timer is cleared: left running it kept the process alive 3 s after the cleanup,
    // long enough for a second Ctrl-C to meet no handler.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(left.map((p) => p.exited)), new Promise((r) => (timer = setTimeout(r, 3000)))]);
    clearTimeout(timer);
  }
}
