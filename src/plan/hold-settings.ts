/**
 * Hold settings from every door — hook and image flags, istio flags, the policy's proxy: and
 * template: sections — become a HoldSpec here: one set of limits, one set of defaults, one wording.
 * Errors name the field and the value as typed, with a position when the caller has one.
 */
import { InputError, type SourcePos } from '../errors.js';
import { parseStrategy } from '../hooks/strategy.js';
import { formatDuration, parseDuration } from '../model/duration.js';
import { DEFAULT_HOLD_LINGER_MS, DEFAULT_INTERVAL_MS, DEFAULT_WAIT_FOR } from '../constants.js';
import { MAX_HOLD_TIMEOUT_MS } from './budget.js';
import type { HoldSpec, WaitStrategy } from './types.js';

/** What a hold timeout of 0 does, in words: every door warns the same (hook --timeout, policy proxy.timeout). */
export const ZERO_TIMEOUT_WORDS = 'the hold releases at once';

/** Shortest poll interval: anything shorter is a busy loop. */
export const MIN_INTERVAL_MS = 10;
/** Longest poll interval: a hold that looks once a minute is a sleep, not a wait. */
export const MAX_INTERVAL_MS = 60_000;
export { MAX_HOLD_TIMEOUT_MS };

/** The hold settings as a person typed them (flags or policy fields). */
export interface HoldSettingsInput {
  waitFor?: readonly string[];
  timeout?: string | number;
  interval?: string | number;
}

export type HoldField = 'waitFor' | 'timeout' | 'interval';

export interface HoldSettingsOptions {
  /** What each field is called where the user typed it: flags (default) or policy keys. */
  labels?: Readonly<Record<HoldField, string>>;
  /** Where a field (or one waitFor entry) is, for file:line:col. */
  at?: (field: HoldField, index?: number) => SourcePos | undefined;
}

export const FLAG_LABELS: Readonly<Record<HoldField, string>> = Object.freeze({ waitFor: '--wait-for', timeout: '--timeout', interval: '--interval' });
export const POLICY_LABELS: Readonly<Record<HoldField, string>> = Object.freeze({ waitFor: 'waitFor', timeout: 'timeout', interval: 'interval' });

const typed = (v: string | number): string => JSON.stringify(typeof v === 'number' ? v : String(v));

/** Run `f`; an InputError from it is re-raised named by `label` and placed at `pos`. */
function named<T>(label: string, pos: SourcePos | undefined, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const msg = e.message.startsWith(`${label}:`) ? e.message : `${label}: ${e.message}`;
    throw new InputError(msg, pos ?? e.pos);
  }
}

/** The wait strategies; default DEFAULT_WAIT_FOR (app-listeners + app-connections). */
export function parseWaitFor(list: readonly string[] | undefined, o: HoldSettingsOptions = {}): WaitStrategy[] {
  const label = (o.labels ?? FLAG_LABELS).waitFor;
  if (!list?.length) return DEFAULT_WAIT_FOR.map(parseStrategy);
  return list.map((t, i) => named(label, o.at?.('waitFor', i), () => parseStrategy(t.trim())));
}

/**
 * The hold's shape, one decision for every door (inject, hook, image, istio; ADR 015, 016): a hold that
 * watches the app's connections (outbound calls, and inbound requests from Envoy it still answers after
 * closing its port) also lingers, and asks pilot-agent to drain inbound at the start: keep-alive clients
 * are told to go, and pilot-agent exits at once after the hold instead of its blind
 * terminationDrainDuration, with nothing of the app's left in flight. Other holds are as named.
 */
export function holdShape(strategies: WaitStrategy[]): Pick<HoldSpec, 'strategies' | 'lingerMs' | 'drainAtStart'> {
  const conns = strategies.some((w) => w.kind === 'app-connections');
  return { strategies, ...(conns ? { lingerMs: DEFAULT_HOLD_LINGER_MS, drainAtStart: true } : {}) };
}

/** A hold timeout: 0 to 24 h (beyond a day a number is a unit mistake, not a hold). */
export function parseTimeoutMs(v: string | number, o: HoldSettingsOptions = {}): number {
  const label = (o.labels ?? FLAG_LABELS).timeout;
  const pos = o.at?.('timeout');
  const ms = named(label, pos, () => parseDuration(v, label));
  if (ms > MAX_HOLD_TIMEOUT_MS) throw new InputError(`${label}: at most ${formatDuration(MAX_HOLD_TIMEOUT_MS)}, got ${typed(v)}`, pos);
  return ms;
}

/** A poll interval: 10 ms to 60 s. */
export function parseIntervalMs(v: string | number, o: HoldSettingsOptions = {}): number {
  const label = (o.labels ?? FLAG_LABELS).interval;
  const pos = o.at?.('interval');
  const ms = named(label, pos, () => parseDuration(v, label));
  if (ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS) {
    throw new InputError(`${label}: expected ${MIN_INTERVAL_MS}ms to ${MAX_INTERVAL_MS / 1000}s, got ${typed(v)}`, pos);
  }
  return ms;
}

/** Validate hold settings as typed and fill the defaults (`defaultTimeoutMs` depends on the door). */
export function holdSettings(s: HoldSettingsInput, defaultTimeoutMs: number, o: HoldSettingsOptions = {}): HoldSpec {
  return {
    ...holdShape(parseWaitFor(s.waitFor, o)),
    timeoutMs: s.timeout !== undefined ? parseTimeoutMs(s.timeout, o) : defaultTimeoutMs,
    intervalMs: s.interval !== undefined ? parseIntervalMs(s.interval, o) : DEFAULT_INTERVAL_MS,
  };
}
