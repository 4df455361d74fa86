/**
 * The shutdown time budget: what terminationGracePeriodSeconds must cover. Shared by inject (which
 * raises the grace period) and lint (which reports when it does not fit). One formula, here.
 *
 *   t=0  preStop hooks start in every container; the proxy's hold waits for the app
 *   app delay (a fixed sleep, or the traffic-gone wait's upper bound) → SIGTERM to the app
 *   app shutdown (finishing requests, outbound calls)     → app done
 *   the hold's linger (nothing held for this long)        → the hold ends
 *   Istio drain (terminationDrainDuration or MINIMUM_DRAIN_DURATION) → proxy exits
 *   + a safety margin before the kubelet's SIGKILL
 * Every wait that ends on an event is counted at its upper bound (ADR 015).
 */
import { AGENT_DRAIN_VERSION, DEFAULT_GRACE_SECONDS } from '../istio/facts.js';
import { atLeast, type Version } from '../model/version.js';

export const GRACE_MARGIN_SECONDS = 2;
export const DEFAULT_APP_SHUTDOWN_SECONDS = 20;
/** The app's preStop sleep when the policy names none: endpoint removal propagates before SIGTERM. */
export const DEFAULT_APP_DELAY_SECONDS = 5;
/** The longest app delay or shutdown a policy may name (a day: beyond that a number is a unit mistake). */
export const MAX_APP_DELAY_MS = 86_400_000;
/** A hold never gets less than this, even when the grace period is tiny. */
export const MIN_HOLD_TIMEOUT_MS = 1000;

export interface BudgetInput {
  /** The app's preStop delay: a fixed sleep, or the upper bound of a wait that ends on an event. */
  appDelaySeconds: number;
  /** appDelaySeconds is an upper bound (the traffic-gone wait), not a fixed sleep. */
  appDelayIsBound?: boolean;
  appShutdownSeconds: number;
  /** The hold's linger after the app is done (ADR 014 (c)). */
  lingerSeconds?: number;
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

/**
 * How long istio-proxy serves the app after termination starts, when a hold of `holdSeconds` keeps it:
 * the hold, then Istio's drain, unless the hold asked pilot-agent to drain at its start; then
 * pilot-agent exits at SIGTERM without the drain wait (ADR 016). Inject's note and lint's
 * proxy-exits-before-app both judge a hold's timeout by this.
 */
export function proxyLifeSeconds(holdSeconds: number, drainSeconds: number, drainsAtStart: boolean): number {
  return holdSeconds + drainAfterHoldSeconds(drainSeconds, drainsAtStart);
}

/**
 * Istio's drain that still runs after a hold ends: none when the hold asked pilot-agent to drain at its
 * start (pilot-agent then exits at SIGTERM: istio/istio pkg/envoy/agent.go terminate, "Agent already
 * drained, exiting immediately"; ADR 016, 086), else the whole drain. What a hold's timeout must leave
 * before SIGKILL (holdFits, graceForHold, holdTimeoutMs take it as their drain).
 */
export function drainAfterHoldSeconds(drainSeconds: number, drainsAtStart: boolean): number {
  return drainsAtStart ? 0 : drainSeconds;
}

/**
 * Does a hold that asks for the drain at its start get it on this Istio? Not before pilot-agent has
 * `/drain` (AGENT_DRAIN_VERSION); an unknown version is taken as a current one.
 */
export function drainsAtStartOn(asks: boolean, istioVersion?: Version): boolean {
  return asks && atLeast(istioVersion, AGENT_DRAIN_VERSION.major, AGENT_DRAIN_VERSION.minor) !== false;
}

/** The grace period a pod needs so that nothing is cut by SIGKILL. */
export function shutdownBudget(b: BudgetInput): Budget {
  const linger = b.lingerSeconds ?? 0;
  const appSpan = b.appDelaySeconds + b.appShutdownSeconds + linger;
  const parts: BudgetPart[] = [
    { label: b.appDelayIsBound ? 'app delay, upper bound' : 'app preStop delay', seconds: b.appDelaySeconds },
    { label: 'app shutdown', seconds: b.appShutdownSeconds },
  ];
  if (linger > 0) parts.push({ label: 'hold linger', seconds: linger });
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
