/** The hold from command-line flags, shared by `meshdrain hook` and `meshdrain image`. */
import { DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS } from '../istio/facts.js';
import { formatDuration, parseDuration } from '../model/duration.js';
import { drainAfterHoldSeconds, drainsAtStartOn, GRACE_MARGIN_SECONDS, graceForHold, holdFits, holdTimeoutMs } from '../plan/budget.js';
import { DEFAULT_SHELL_IMAGE } from '../constants.js';
import { holdSettings, ZERO_TIMEOUT_WORDS } from '../plan/hold-settings.js';
import type { Version } from '../model/version.js';
import type { HoldSpec, ShellSource } from '../plan/types.js';

export interface HoldFlags {
  waitFor?: string[];
  timeout?: string;
  grace: string;
  drain: string;
  interval?: string;
  shellDir?: string;
}

/**
 * Build the HoldSpec from the flags; every value validated (InputError on anything odd). The default
 * timeout is what fits --grace after the margin and the drain that still runs after the hold: none
 * when the hold asks pilot-agent for it at its start (the default hold; ADR 016, 086), unless
 * `istioVersion` (the image's) has no `/drain` yet. The same formula as inject's and the template's.
 * `graceSeconds`: the least grace period the hold fits in (plan/budget.ts graceForHold).
 */
export function holdFromFlags(flags: HoldFlags, warn: (msg: string) => void, istioVersion?: Version): { hold: HoldSpec; shell: ShellSource; graceSeconds: number } {
  const graceMs = parseDuration(flags.grace, '--grace');
  const drainMs = parseDuration(flags.drain, '--drain');
  // One validator for every door's hold settings (limits, defaults, wording): plan/hold-settings.ts;
  // then, without --timeout, the default for the hold's own shape.
  const { strategies, timeoutMs: given, intervalMs, ...shape } = holdSettings(flags, 0);
  const atStart = drainsAtStartOn(shape.drainAtStart === true, istioVersion);
  const afterS = drainAfterHoldSeconds(drainMs / 1000, atStart);
  const timeoutMs = flags.timeout !== undefined ? given : holdTimeoutMs(graceMs / 1000, afterS);
  const drainWords = atStart ? 'the hold drains at its start: no drain after it' : `Istio's drain ${formatDuration(drainMs)}`;
  if (flags.timeout !== undefined) {
    if (timeoutMs === 0) warn(`--timeout 0s: ${ZERO_TIMEOUT_WORDS}`);
    if (!holdFits(timeoutMs / 1000, afterS, graceMs / 1000)) {
      warn(`--timeout ${formatDuration(timeoutMs)} + ${atStart ? '' : `drain ${formatDuration(drainMs)} + `}margin ${GRACE_MARGIN_SECONDS}s exceeds --grace ${formatDuration(graceMs)}: the kubelet may SIGKILL the proxy mid-hold`);
    }
  } else {
    const spare = Math.max(0, graceMs - afterS * 1000 - GRACE_MARGIN_SECONDS * 1000);
    if (!holdFits(timeoutMs / 1000, afterS, graceMs / 1000)) {
      warn(`--grace ${formatDuration(graceMs)} leaves ${formatDuration(spare)} after the margin (${drainWords}); holding at most ${formatDuration(timeoutMs)} anyway (raise the grace period)`);
    } else if (graceForHold(timeoutMs / 1000, afterS) < graceMs / 1000) warn(`--grace ${formatDuration(graceMs)}: holding at most ${formatDuration(timeoutMs)}`);
  }
  for (const s of strategies) {
    if (s.kind === 'sleep' && s.ms > timeoutMs) warn(`${`sleep=${formatDuration(s.ms)}`} is longer than the timeout ${formatDuration(timeoutMs)}: the timeout ends it`);
  }
  const shell: ShellSource = flags.shellDir === undefined ? { kind: 'image' } : { kind: 'init-container', image: DEFAULT_SHELL_IMAGE, mountPath: flags.shellDir };
  // The least grace period this hold fits in (the image's README names it: the image cannot see the pods').
  return { hold: { strategies, timeoutMs: Math.round(timeoutMs), intervalMs: Math.round(intervalMs), ...shape }, shell, graceSeconds: graceForHold(Math.round(timeoutMs) / 1000, afterS) };
}

