/**
 * The shutdown time budget: what terminationGracePeriodSeconds must cover. Shared by inject (which
 * raises the grace period) and lint (which reports when it does not fit). One formula, here.
 *
 *   t=0  preStop hooks start in every container; the proxy's hold waits for the app
 *   app delay (its preStop sleep, for endpoint propagation) → SIGTERM to the app
 *   app shutdown (finishing requests, outbound calls)     → app gone, the hold ends
 *   Istio drain (terminationDrainDuration or MINIMUM_DRAIN_DURATION) → proxy exits
 *   + a safety margin before the kubelet's SIGKILL
 */
import { DEFAULT_GRACE_SECONDS } from '../istio/facts.js';

export const GRACE_MARGIN_SECONDS = 2;
export const DEFAULT_APP_SHUTDOWN_SECONDS = 20;
/** The app's preStop sleep when the policy names none: endpoint removal propagates before SIGTERM. */
export const DEFAULT_APP_DELAY_SECONDS = 5;
/** A hold never gets less than this, even when the grace period is tiny. */
export const MIN_HOLD_TIMEOUT_MS = 1000;

export interface BudgetInput {
  appDelaySeconds: number;
  appShutdownSeconds: number;
  drainSeconds: number;
  /** A fixed hold (e.g. a sleep strategy) that lasts longer than the app. */
  fixedHoldSeconds?: number;
}

export interface BudgetPart {
  label: string;
  seconds: number;
}

export interface Budget {
  parts: BudgetPart[];
  requiredSeconds: number;
}

/** The grace period a pod needs so that nothing is cut by SIGKILL. */
export function shutdownBudget(b: BudgetInput): Budget {
  const appSpan = b.appDelaySeconds + b.appShutdownSeconds;
  const parts: BudgetPart[] = [
    { label: 'app preStop delay', seconds: b.appDelaySeconds },
    { label: 'app shutdown', seconds: b.appShutdownSeconds },
  ];
  if (b.fixedHoldSeconds !== undefined && b.fixedHoldSeconds > appSpan) {
    parts.push({ label: 'proxy hold beyond the app', seconds: b.fixedHoldSeconds - appSpan });
  }
  parts.push({ label: 'Istio drain', seconds: b.drainSeconds }, { label: 'margin', seconds: GRACE_MARGIN_SECONDS });
  return { parts, requiredSeconds: Math.ceil(parts.reduce((s, p) => s + p.seconds, 0)) };
}

/** "5 (app preStop delay) + 20 (app shutdown) + 5 (Istio drain) + 2 (margin) = 32s" */
export function formatBudget(b: Budget): string {
  return `${b.parts.map((p) => `${+p.seconds.toFixed(3)} (${p.label})`).join(' + ')} = ${b.requiredSeconds}s`;
}

/** The grace period to write: never lower than what the user set. */
export function graceFor(current: number | undefined, required: number, minimum = 0): number {
  return Math.max(current ?? DEFAULT_GRACE_SECONDS, required, minimum);
}

/**
 * Does a hold that may last `timeoutSeconds`, then Istio's drain, end before the kubelet's SIGKILL
 * with the margin to spare? The one formula plan, lint and the hold flags use; graceForHold is its
 * least grace period, holdTimeoutMs its longest timeout.
 */
export function holdFits(timeoutSeconds: number, drainSeconds: number, graceSeconds: number): boolean {
  return timeoutSeconds + drainSeconds + GRACE_MARGIN_SECONDS <= graceSeconds;
}

/** The least whole grace period a hold of `timeoutSeconds` fits in: timeout + drain + margin. */
export function graceForHold(timeoutSeconds: number, drainSeconds: number): number {
  return Math.ceil(timeoutSeconds + drainSeconds + GRACE_MARGIN_SECONDS);
}

/** The longest hold the generator accepts; a longer grace period still gets this much. */
export const MAX_HOLD_TIMEOUT_MS = 24 * 3_600_000;

/** How long the proxy may hold: until just before the drain would be cut by SIGKILL (at most 24h). */
export function holdTimeoutMs(graceSeconds: number, drainSeconds: number): number {
  return Math.min(MAX_HOLD_TIMEOUT_MS, Math.max(MIN_HOLD_TIMEOUT_MS, (graceSeconds - drainSeconds - GRACE_MARGIN_SECONDS) * 1000));
}
