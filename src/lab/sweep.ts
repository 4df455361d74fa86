/**
 * `meshdrain lab --sweep` and `--quick`: the matrix of runs (scenarios × protocols × propagation delays ×
 * app behaviours), each entry's stable id (its anchor in the HTML matrix), and the progress line with the
 * estimated time left. Pure.
 */
import { formatDuration } from '../model/duration.js';

export const PROTOCOLS = ['http1', 'http2', 'grpc', 'websocket'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** How the lab's app behaves at SIGTERM (ADR 052): serves until it exits, or closes its port at once. */
export const APP_BEHAVIOURS = ['serves-until-exit', 'closes-port'] as const;
export type AppBehaviour = (typeof APP_BEHAVIOURS)[number];

/** The conditions of one column of the matrix. */
export interface Condition {
  protocol: Protocol;
  propagationDelaySeconds: number;
  app: AppBehaviour;
  /**
   * false: the app makes no outbound call after SIGTERM (ADR 079). Set only by a sweep with the
   * calls-out axis (`--sweep-calls-out`); absent, the app calls out, as every sweep before it.
   */
  callsOut?: boolean;
}

export interface MatrixEntry {
  /** Stable id: `<scenario>--<protocol>--<delay>s--<app>`; the HTML anchor of its timeline. */
  id: string;
  scenario: string;
  condition: Condition;
}

export interface SweepAxes {
  scenarios: readonly string[];
  protocols: readonly Protocol[];
  propagationDelaysSeconds: readonly number[];
  apps: readonly AppBehaviour[];
  /** The calls-out axis (ADR 079): `[true, false]` runs every entry with an app that calls out and one that does not; absent, one value, unmarked. */
  callsOut?: readonly boolean[];
}

/** The reduced matrix `--quick` runs for CI: still shows the race (no-hold fails, meshdrain does not). */
export const QUICK_AXES: SweepAxes = {
  scenarios: ['no-hold', 'meshdrain'],
  protocols: ['http1'],
  propagationDelaysSeconds: [3],
  apps: ['serves-until-exit'],
};

/** The app column's words: its behaviour at SIGTERM, and whether it calls out when that is an axis. */
export function appLabel(c: Condition): string {
  return c.callsOut === undefined ? c.app : `${c.app}, ${c.callsOut ? 'calls out' : 'no calls out'}`;
}

export function conditionLabel(c: Condition): string {
  return `${c.protocol} · ${c.propagationDelaySeconds}s · ${appLabel(c)}`;
}

/** The condition's part of an entry id; the calls-out axis adds `--calls-out` / `--no-calls-out` (ids without it unchanged). */
export function conditionKey(c: Condition): string {
  return `${c.protocol}--${c.propagationDelaySeconds}s--${c.app}${c.callsOut === undefined ? '' : c.callsOut ? '--calls-out' : '--no-calls-out'}`;
}

/** Every column of the matrix, in axis order (protocol outermost, calls-out innermost). */
export function conditions(a: Omit<SweepAxes, 'scenarios'>): Condition[] {
  const out: Condition[] = [];
  for (const protocol of a.protocols)
    for (const propagationDelaySeconds of a.propagationDelaysSeconds)
      for (const app of a.apps) {
        if (!a.callsOut) out.push({ protocol, propagationDelaySeconds, app });
        else for (const callsOut of a.callsOut) out.push({ protocol, propagationDelaySeconds, app, callsOut });
      }
  return out;
}

/** Every run of a sweep, scenario-major (one scenario's columns run back to back). */
export function sweepEntries(a: SweepAxes): MatrixEntry[] {
  const cols = conditions(a);
  return a.scenarios.flatMap((scenario) => cols.map((condition) => ({ id: `${scenario}--${conditionKey(condition)}`, scenario, condition })));
}

/**
 * The progress line: how far the sweep is and how long the rest takes at the pace so far (before the
 * first entry ends, at `firstGuessMs` per entry).
 */
export function progressLine(done: number, total: number, elapsedMs: number, firstGuessMs: number): string {
  const per = done > 0 ? elapsedMs / done : firstGuessMs;
  const left = Math.max(0, Math.round(((total - done) * per) / 1000) * 1000);
  return `sweep ${done}/${total} done, ~${formatDuration(left)} left`;
}
