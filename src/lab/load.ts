/**
 * Load against the balancer: the built-in bounded keep-alive clients, or Debian's real `siege`
 * (as the original study used), stopped with SIGINT so it prints its report, which we parse.
 */
import type { LabProtocol, LoadConfig } from './agent/config.js';
import { AgentChannel, parseEvent } from './control.js';
import { LabEnvError } from './errors.js';
import type { LabFiles } from './files.js';
import { CLIENT_IP } from './netns.js';
import type { LabProc, ProcTable } from './procs.js';

export const BALANCER_PORT = 80;

export interface LoadResult {
  kind: 'builtin' | 'siege';
  requests: number;
  failed: number;
  reasons: Record<string, number>;
  /** siege's own figures when it ran. */
  siege?: SiegeReport;
  /** websocket: connections cut before the app closed them (also in failed). */
  cut?: number;
  /**
   * websocket: the load's own timeline (messages per bucket, each failure with its pod); the balancer
   * sees connections, not messages, so the report reads these instead of the balancer's.
   */
  buckets?: Record<string, [number, number]>;
  failures?: { t: number; reason: string; pod: string }[];
}

export interface LoadRun {
  stop(): Promise<LoadResult>;
  /** Requests sent so far, when the load itself counts them (websocket messages); else undefined. */
  count?(): Promise<number>;
}

export interface SiegeReport {
  transactions: number;
  availabilityPercent: number;
  failedTransactions: number;
  successfulTransactions: number;
  elapsedSeconds: number;
}

/** Parse siege's end-of-run summary (stderr). Throws when the summary is missing. */
export function parseSiegeReport(text: string): SiegeReport {
  const num = (label: string): number => {
    const m = new RegExp(`${label}:\\s+([\\d.]+)`).exec(text);
    if (!m) throw new LabEnvError(`siege report has no "${label}" line: ${text.trim().split('\n').slice(-3).join(' / ')}`);
    return Number(m[1]);
  };
  return {
    transactions: num('Transactions'),
    availabilityPercent: num('Availability'),
    failedTransactions: num('Failed transactions'),
    successfulTransactions: num('Successful transactions'),
    elapsedSeconds: num('Elapsed time'),
  };
}

export const SIEGE_RC = ['connection = keep-alive', 'protocol = HTTP/1.1', 'logging = false', 'show-logfile = false', 'parser = false', 'verbose = false', 'quiet = false',
  // siege gives up after 1024 failures by default; the lab wants to count them all.
  'failures = 100000000', ''].join('\n');

/** The built-in load; `protocol` grpc or websocket runs those clients (ADR 076), anything else HTTP/1.1 keep-alive. */
export function startBuiltinLoad(procs: ProcTable, files: LabFiles, ns: string, concurrency: number, maxMs: number, protocol: LabProtocol = 'http1', bucketMs?: number): Promise<LoadRun> {
  const ch = new AgentChannel('load-start');
  let done: ((r: LoadResult) => void) | undefined;
  const result = new Promise<LoadResult>((r) => (done = r));
  const own = protocol === 'grpc' || protocol === 'websocket';
  const cfg: LoadConfig = { target: CLIENT_IP, port: BALANCER_PORT, concurrency, maxMs, maxRequests: 50_000_000, ...(own ? { protocol, ...(protocol === 'websocket' && bucketMs ? { bucketMs } : {}) } : {}) };
  const proc = ch.attach((onLine) =>
    procs.spawn([files.node, files.agent, 'load', JSON.stringify(cfg)], {
      name: 'load',
      ns,
      onLine: (l) => {
        onLine(l);
        const e = parseEvent(l);
        if (e?.ev === 'load-done')
          done?.({
            kind: 'builtin',
            requests: Number(e.requests),
            failed: Number(e.failed),
            reasons: (e.reasons ?? {}) as Record<string, number>,
            ...(typeof e.cut === 'number' ? { cut: e.cut } : {}),
            ...(e.buckets ? { buckets: e.buckets as LoadResult['buckets'], failures: (e.failures ?? []) as LoadResult['failures'] } : {}),
          });
      },
    }),
  );
  return ch.ready().then(() => ({
    ...(protocol === 'websocket' ? { count: async () => Number((await ch.request({ op: 'count' })).requests) } : {}),
    async stop() {
      proc.child.stdin?.write('stop\n');
      const r = await Promise.race([result, proc.exited.then(() => null), sleepMs(15_000).then(() => null)]);
      proc.child.stdin?.end();
      if (!r) throw new LabEnvError(`load client ended without a summary: ${proc.stderrTail.join(' / ')}`);
      return r;
    },
  }));
}

export async function startSiege(procs: ProcTable, files: LabFiles, ns: string, concurrency: number): Promise<LoadRun> {
  const rc = files.write('siegerc', SIEGE_RC);
  let stderr = '';
  const proc: LabProc = procs.spawn(['siege', '-R', rc, '-c', String(concurrency), '-b', '-t', '3600S', `http://${CLIENT_IP}:${BALANCER_PORT}/`], {
    name: 'siege',
    ns,
    env: { HOME: files.dir },
    noStdin: true,
  });
  proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await sleepMs(300);
  if (proc.exit) throw new LabEnvError(`siege exited at once: ${stderr.trim()}`);
  return {
    async stop() {
      procs.signal(proc, 'SIGINT');
      await Promise.race([proc.exited, sleepMs(10_000)]);
      if (!proc.exit) procs.killGroup(proc);
      const s = parseSiegeReport(stderr);
      return { kind: 'siege', requests: s.transactions + s.failedTransactions, failed: s.failedTransactions, reasons: {}, siege: s };
    },
  };
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
