/**
 * Talking to the long-lived agents over their stdin/stdout: JSON lines, requests matched by id.
 */
import { LabEnvError } from './errors.js';
import type { LabProc } from './procs.js';

export interface AgentEvent {
  ev: string;
  t: number;
  id?: number;
  [k: string]: unknown;
}

/** Parse one agent stdout line; null for anything that is not an event. */
export function parseEvent(line: string): AgentEvent | null {
  if (!line.startsWith('{')) return null;
  try {
    const o = JSON.parse(line) as AgentEvent;
    return typeof o.ev === 'string' ? o : null;
  } catch {
    return null;
  }
}

/**
 * What a dead process said, as one line: its stderr tail without indented lines (stack frames and
 * the rest of a multi-line error; the agents print an error's first line unindented, main.ts fail)
 * and without Node's closing `Node.js vNN` line.
 */
export function deathLine(stderrTail: readonly string[]): string {
  const kept = stderrTail.filter((l) => l.trim() !== '' && !/^\s/.test(l) && !/^Node\.js v\d/.test(l));
  return kept.join(' / ') || '(nothing on stderr)';
}

/** A request/response channel to an agent that answers `{op, id}` with `{ev, id}`. */
export class AgentChannel {
  private nextId = 1;
  private readonly waiting = new Map<number, (e: AgentEvent) => void>();
  private readonly failers = new Map<number, (e: Error) => void>();
  private readonly readyWaiters: ((e: AgentEvent) => void)[] = [];
  proc!: LabProc;

  constructor(private readonly readyEvent: string) {}

  /** Start the agent through `spawn` with this channel's line handler. */
  attach(spawn: (onLine: (l: string) => void) => LabProc): LabProc {
    this.proc = spawn((l) => this.onLine(l));
    // Nobody answers a dead agent: fail every pending request at once instead of timing out.
    void this.proc.exited.then(() => {
      for (const [id, w] of this.failers) {
        this.failers.delete(id);
        w(new LabEnvError(`${this.proc.name} exited: ${deathLine(this.proc.stderrTail)}`));
      }
    });
    return this.proc;
  }

  private onLine(line: string): void {
    const e = parseEvent(line);
    if (!e) return;
    if (e.ev === this.readyEvent) for (const w of this.readyWaiters.splice(0)) w(e);
    if (typeof e.id === 'number') {
      const w = this.waiting.get(e.id);
      if (w) {
        this.waiting.delete(e.id);
        w(e);
      }
    }
  }

  /** Resolve when the agent says it is ready; reject when it exits first or after timeoutMs. */
  ready(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new LabEnvError(`${this.proc.name} not ready after ${timeoutMs} ms: ${deathLine(this.proc.stderrTail)}`)), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      void this.proc.exited.then((x) => {
        clearTimeout(timer);
        reject(new LabEnvError(`${this.proc.name} exited (${x.code ?? x.signal}) before it was ready: ${deathLine(this.proc.stderrTail)}`));
      });
    });
  }

  send(msg: Record<string, unknown>): void {
    this.proc.child.stdin?.write(JSON.stringify(msg) + '\n');
  }

  request(msg: Record<string, unknown>, timeoutMs = 10_000): Promise<AgentEvent> {
    const id = this.nextId++;
    if (this.proc.exit) return Promise.reject(new LabEnvError(`${this.proc.name} has exited`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.failers.delete(id);
        reject(new LabEnvError(`${this.proc.name}: no answer to ${String(msg.op)} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (e) => {
        clearTimeout(timer);
        this.failers.delete(id);
        resolve(e);
      });
      this.failers.set(id, (err) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        reject(err);
      });
      this.send({ ...msg, id });
    });
  }
}
