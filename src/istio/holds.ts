/**
 * Holds rendered for Istio's injector, where no per-pod plan exists: the cluster-wide default, and
 * the catalog of wait strategies a pod may pick with `meshdrain.dev/wait-for`. Go templates cannot run
 * our generator at injection time, so every allowed value is rendered here, ahead of time, by the
 * same generator (hooks/hold.ts) inject uses; the template only compares the annotation value with
 * the catalog keys (ADR 030).
 */
import { InputError } from '../errors.js';
import { checkHold, holdExecCommand } from '../hooks/hold.js';
import { formatStrategy, parseStrategy } from '../hooks/strategy.js';
import { drainAfterHoldSeconds, graceForHold, holdTimeoutMs } from '../plan/budget.js';
import { holdSettings, holdShape, parseWaitFor, type HoldSettingsInput, type HoldSettingsOptions } from '../plan/hold-settings.js';
import { DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS } from './facts.js';
import type { HoldSpec, ShellSource, WaitStrategy } from '../plan/types.js';

/** Built-in catalog entries: the strategies that need no pod-specific value, plus common delays. */
export const BUILTIN_CATALOG: readonly string[] = Object.freeze([
  'app-listeners',
  'sleep=5s',
  'sleep=10s',
  'sleep=15s',
  'sleep=20s',
  'sleep=30s',
]);

/** Separator between several strategies in one catalog entry / annotation value (hold while any holds). */
export const STRATEGY_SEPARATOR = ';';

export interface HoldOptions {
  /** `--wait-for` values (each one strategy); default app-listeners + app-connections (plan/hold-settings.ts). */
  waitFor?: string[];
  /** `--timeout`; default: the timeout inject gives a default Deployment's hold (defaultHoldTimeoutMs). */
  timeout?: string;
  interval?: string;
}

/**
 * Cluster-wide (the custom injection template, the patched injector) there is no per-pod grace period:
 * the longest hold that ends, with the drain still to come after it, before the margin of Kubernetes'
 * default 30 s grace period (plan/budget.ts holdTimeoutMs, the formula every door uses). A hold on the
 * app's connections (the default) asks pilot-agent to drain at its start, so none follows it: 28 s,
 * which covers inject's estimate of the app (5 s delay + 20 s shutdown + the 500 ms linger). Any other
 * hold leaves Istio's 5 s drain after it: 23 s, and the proxy serves the app 28 s (ADR 086).
 */
export function defaultHoldTimeoutMs(waitFor?: readonly string[]): number {
  return clusterTimeoutFor(holdShape(parseWaitFor(waitFor?.length ? waitFor : undefined)));
}

/** defaultHoldTimeoutMs for a hold of this shape (catalog entries: each its own). */
function clusterTimeoutMs(shape: Pick<HoldSpec, 'drainAtStart'>): number {
  return holdTimeoutMs(DEFAULT_GRACE_SECONDS, drainAfterHoldSeconds(DEFAULT_TERMINATION_DRAIN_SECONDS, shape.drainAtStart === true));
}

/**
 * A cluster-wide hold's timeout, one rule for the custom template, the injector patch's catalog and
 * inject's templateHold: the one named (`namedMs`), else its shape's cluster default, and never shorter
 * than its longest sleep. A pod that selects a `sleep=35s` hold asked for 35 s, and inject budgets a
 * fixed sleep whole (plan/budget.ts fixedHoldSeconds); a timeout below it would end the sleep early
 * (hooks/hold.ts: the timeout ends every strategy) while the grace period was sized for all of it (ADR 086).
 */
function clusterTimeoutFor(shape: Pick<HoldSpec, 'strategies' | 'drainAtStart'>, namedMs?: number): number {
  const longestSleep = Math.max(0, ...shape.strategies.map((st) => (st.kind === 'sleep' ? st.ms : 0)));
  return Math.max(namedMs ?? clusterTimeoutMs(shape), longestSleep);
}

/**
 * The least grace period a cluster-wide hold fits in with Istio's default drain: its timeout, the drain
 * still to come after it (none when it drains at its start), the margin (plan/budget.ts graceForHold).
 * The istio commands say when it exceeds Kubernetes' default; lint judges each pod's own.
 */
export function clusterHoldGraceSeconds(hold: HoldSpec): number {
  return graceForHold(hold.timeoutMs / 1000, drainAfterHoldSeconds(DEFAULT_TERMINATION_DRAIN_SECONDS, hold.drainAtStart === true));
}

/**
 * The hold from command-line options (the one validator: plan/hold-settings.ts). Bad value → InputError (exit 2).
 * Without --wait-for it is the hold inject writes (ADR 015, 016): while the app listens or owns a
 * connection, released after the linger, pilot-agent's inbound drain asked for at the start.
 */
export function holdFromOptions(o: HoldOptions): HoldSpec {
  return checkHold(clusterHold(o));
}

/**
 * A cluster-wide hold (the injector's, a custom template's) from its settings: validated as written
 * (`o.labels`: the flags' or the policy's words), then, without a timeout, the default for its own
 * shape, never shorter than its longest sleep (clusterTimeoutFor). One place for `istio
 * injector-patch`/`template` and inject's templateHold.
 */
export function clusterHold(s: HoldSettingsInput, o: HoldSettingsOptions = {}): HoldSpec {
  const h = holdSettings(s, 0, o);
  return { ...h, timeoutMs: clusterTimeoutFor(h, s.timeout !== undefined ? h.timeoutMs : undefined) };
}

/**
 * Parse one catalog entry / annotation value: strategies separated by `;`. `label`: where the user typed
 * it (`--allow`), named first in an error as the other hold flags are (`--wait-for: ports: …`).
 */
export function parseStrategyList(text: string, label?: string): WaitStrategy[] {
  const parts = text
    .split(STRATEGY_SEPARATOR)
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    if (parts.length === 0) throw new InputError(`empty wait strategy list ${JSON.stringify(text)}`);
    return parts.map(parseStrategy);
  } catch (e) {
    if (label && e instanceof InputError && !e.pos) throw new InputError(`${label}: ${e.message}`);
    throw e;
  }
}

export interface CatalogEntry {
  /** The exact annotation values that select this entry (as written, and normalized). */
  keys: string[];
  hold: HoldSpec;
}

/**
 * The catalog: built-ins plus `extra` entries (`--allow`, each "strategy[;strategy]"). Each entry's shape (linger,
 * drain at start) is its own strategies' (hold-settings.ts holdShape, as every door decides it), with
 * the default hold's interval, and its timeout: the one named (`timeoutNamed`), else its own cluster
 * default (defaultHoldTimeoutMs: 23 s for a hold that leaves Istio's drain after it), never shorter than
 * its longest sleep. Keys are unique; the first entry that claims a key wins.
 */
export function buildCatalog(defaultHold: HoldSpec, extra: string[] = [], builtins = true, timeoutNamed = false): CatalogEntry[] {
  const seen = new Set<string>();
  const out: CatalogEntry[] = [];
  const builtin = builtins ? BUILTIN_CATALOG : [];
  for (const [i, text] of [...builtin, ...extra].entries()) {
    // The extra entries are the user's `--allow` values.
    const strategies = parseStrategyList(text, i >= builtin.length ? '--allow' : undefined);
    const normalized = strategies.map(formatStrategy).join(STRATEGY_SEPARATOR);
    const written = text
      .split(STRATEGY_SEPARATOR)
      .map((s) => s.trim())
      .filter(Boolean)
      .join(STRATEGY_SEPARATOR);
    const keys = [...new Set([written, normalized])].filter((k) => !seen.has(k));
    if (keys.length === 0) continue;
    keys.forEach((k) => seen.add(k));
    const shape = holdShape(strategies);
    out.push({ keys, hold: { ...shape, intervalMs: defaultHold.intervalMs, timeoutMs: clusterTimeoutFor(shape, timeoutNamed ? defaultHold.timeoutMs : undefined) } });
  }
  return out;
}

/** The preStop exec command for a hold, with an optional first log line (e.g. why this hold). */
export function holdCommand(hold: HoldSpec, shell: ShellSource = { kind: 'image' }, note?: string): string[] {
  const cmd = holdExecCommand(hold, shell);
  if (!note) return cmd;
  // The last element is the script run by `sh -c`; a first line says which hold was chosen and why.
  const safe = note.replace(/[^A-Za-z0-9 .,:;=/_()-]/g, '?');
  const script = cmd[cmd.length - 1]!;
  // Logged where the hold logs: PID 1's stdout is what `kubectl logs -c istio-proxy` shows.
  const line = `{ printf '%s\\n' 'meshdrain-hold: ${safe}' >/proc/1/fd/1; } 2>/dev/null || printf '%s\\n' 'meshdrain-hold: ${safe}'`;
  return [...cmd.slice(0, -1), `${line}\n${script.replace(/^#!.*\n/, '')}`];
}
