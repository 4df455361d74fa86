/** The hold from command-line flags, shared by `meshdrain hook` and `meshdrain image`. */
import { InputError, UsageError } from '../errors.js';
import { DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS } from '../istio/facts.js';
import { formatDuration, parseDuration } from '../model/duration.js';
import { GRACE_MARGIN_SECONDS, MAX_HOLD_TIMEOUT_MS, graceForHold, holdFits, holdTimeoutMs } from '../plan/budget.js';
import { DEFAULT_INTERVAL_MS, DEFAULT_SHELL_IMAGE, DEFAULT_WAIT_FOR } from '../constants.js';
import type { HoldSpec, ShellSource, WaitStrategy } from '../plan/types.js';
import { parseStrategy } from './strategy.js';

export interface HoldFlags {
  waitFor?: string[];
  timeout?: string;
  grace: string;
  drain: string;
  interval?: string;
  shellDir?: string;
}

/** Build the HoldSpec from the flags; every value validated (InputError on anything odd). */
export function holdFromFlags(flags: HoldFlags, warn: (msg: string) => void): { hold: HoldSpec; shell: ShellSource } {
  const strategies: WaitStrategy[] = (flags.waitFor?.length ? flags.waitFor : [DEFAULT_WAIT_FOR]).map((t) => {
    try {
      return parseStrategy(t);
    } catch (e) {
      if (e instanceof InputError) throw new UsageError(`--wait-for: ${e.message}`);
      throw e;
    }
  });
  const graceMs = parseDuration(flags.grace, '--grace');
  const drainMs = parseDuration(flags.drain, '--drain');
  const intervalMs = flags.interval === undefined ? DEFAULT_INTERVAL_MS : parseDuration(flags.interval, '--interval');
  if (intervalMs < 10 || intervalMs > 60_000) throw new UsageError(`--interval: expected 10ms to 60s, got ${JSON.stringify(flags.interval)}`);
  let timeoutMs: number;
  if (flags.timeout !== undefined) {
    timeoutMs = parseDuration(flags.timeout, '--timeout');
    if (timeoutMs > MAX_HOLD_TIMEOUT_MS) throw new UsageError(`--timeout: at most ${formatDuration(MAX_HOLD_TIMEOUT_MS)}, got ${JSON.stringify(flags.timeout)}`);
    if (timeoutMs === 0) warn('--timeout 0s: the hold releases at once');
    if (!holdFits(timeoutMs / 1000, drainMs / 1000, graceMs / 1000)) {
      warn(`--timeout ${formatDuration(timeoutMs)} + drain ${formatDuration(drainMs)} + margin ${GRACE_MARGIN_SECONDS}s exceeds --grace ${formatDuration(graceMs)}: the kubelet may SIGKILL the proxy mid-hold`);
    }
  } else {
    timeoutMs = holdTimeoutMs(graceMs / 1000, drainMs / 1000);
    const spare = Math.max(0, graceMs - drainMs - GRACE_MARGIN_SECONDS * 1000);
    if (!holdFits(timeoutMs / 1000, drainMs / 1000, graceMs / 1000)) {
      warn(`--grace ${formatDuration(graceMs)} leaves ${formatDuration(spare)} after Istio's drain and the margin; holding at most ${formatDuration(timeoutMs)} anyway (raise the grace period)`);
    } else if (graceForHold(timeoutMs / 1000, drainMs / 1000) < graceMs / 1000) warn(`--grace ${formatDuration(graceMs)}: holding at most ${formatDuration(timeoutMs)}`);
  }
  for (const s of strategies) {
    if (s.kind === 'sleep' && s.ms > timeoutMs) warn(`${`sleep=${formatDuration(s.ms)}`} is longer than the timeout ${formatDuration(timeoutMs)}: the timeout ends it`);
  }
  const shell: ShellSource = flags.shellDir === undefined ? { kind: 'image' } : { kind: 'init-container', image: DEFAULT_SHELL_IMAGE, mountPath: flags.shellDir };
  return { hold: { strategies, timeoutMs: Math.round(timeoutMs), intervalMs: Math.round(intervalMs) }, shell };
}

