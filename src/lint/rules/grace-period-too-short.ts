import { drainAfterHoldSeconds, formatBudget, GRACE_MARGIN_SECONDS, graceForHold, holdFits, holdTimeoutMs, shutdownBudget } from '../../plan/budget.js';
import { holdBoundSeconds, holdDrainsAtStartOn, holdWaits, ownSleepSeconds, type PodView } from '../pod.js';
import type { Rule } from '../types.js';
import { graceLoc, secs } from './common.js';
import { examplePod, HOLD_UNBOUNDED } from './examples.js';

const SLEEP_10 = 'lifecycle: {preStop: {sleep: {seconds: 10}}}';

export const gracePeriodTooShort: Rule = {
  id: 'grace-period-too-short',
  severity: 'error',
  description: 'terminationGracePeriodSeconds does not cover app delay + app shutdown + proxy hold + Istio drain',
  fix: 'Raise terminationGracePeriodSeconds to the budget shown (meshdrain inject does this), or shorten the hold or drain.',
  doc: {
    rationale: `Everything that happens at shutdown shares one clock: the pod's \`terminationGracePeriodSeconds\`.
The app's preStop delay, the app's own shutdown, the proxy's hold and Istio's drain all run inside it, and
when it runs out the kubelet sends SIGKILL to whatever is left — usually the proxy in the middle of its drain,
or the app in the middle of its last requests.

The budget is the same arithmetic \`meshdrain inject\` uses:
app preStop delay + app shutdown (estimated, \`--app-shutdown\`, default 20s) + proxy hold beyond the app +
Istio drain (\`terminationDrainDuration\`, or \`MINIMUM_DRAIN_DURATION\` with \`EXIT_ON_ZERO_ACTIVE_CONNECTIONS\`) + a 2s margin.
A hold with a timeout must also fit: timeout + drain + the 2s margin ≤ grace period, where a hold that asked
pilot-agent to drain at its start (meshdrain's default, Istio 1.21+) has no drain after it.

The finding is an **error** when the known parts alone (preStop delays, a fixed hold, the drain) overrun the
grace period, and a **warning** when it takes the estimated app shutdown time to overrun it.`,
    bad: examplePod({ kind: 'Deployment', grace: 20, app: [SLEEP_10], hold: HOLD_UNBOUNDED }),
    good: examplePod({ kind: 'Deployment', grace: 40, app: [SLEEP_10], hold: HOLD_UNBOUNDED }),
  },
  check(pod, opts, report) {
    if (!pod.meshed) return;
    const waits = holdWaits(pod.hold) || pod.native.native || pod.exitOnZero;
    if (!waits && pod.appDelaySeconds === 0) return; // nothing waits for anything: see proxy-exits-before-app
    const hold = pod.hold;
    const bound = hold ? holdBoundSeconds(hold) : 0;
    // A fixed hold: a sleep, a script that only sleeps, or meshdrain's own hold on sleeps (a catalog sleep=…).
    const fixedOnly = hold !== null && (hold.sleepSeconds !== undefined || (hold.analysis?.loops.length === 0 && hold.analysis.fixedSleepMs > 0) || ownSleepSeconds(hold) !== undefined);
    const budget = shutdownBudget({
      appDelaySeconds: pod.appDelaySeconds,
      appShutdownSeconds: opts.appShutdownSeconds,
      // meshdrain's own hold lingers after the app (read back exactly, analysis/own-hold.ts): the
      // budget inject sizes the grace period with counts it, so this one does too.
      lingerSeconds: ownLingerMs(hold) / 1000,
      drainSeconds: pod.drainSeconds,
      fixedHoldSeconds: fixedOnly && bound !== null ? bound : undefined,
    });
    const at = graceLoc(pod);
    const grace = pod.graceSet ? `terminationGracePeriodSeconds ${pod.graceSeconds}` : `the default grace period (${pod.graceSeconds}s)`;
    if (pod.graceSeconds < budget.requiredSeconds) {
      // Certain when the known parts alone (delays, fixed hold, drain) overrun it; else it rests on the
      // app-shutdown estimate (--app-shutdown), and says so as a warning.
      const known = pod.appDelaySeconds + (fixedOnly && bound !== null ? Math.max(0, bound - pod.appDelaySeconds) : 0) + pod.drainSeconds;
      report({
        at,
        severity: known > pod.graceSeconds ? 'error' : 'warning',
        message: `${grace} is less than the shutdown budget: ${formatBudget(budget)}${known > pod.graceSeconds ? '' : ` (app shutdown is an estimate: --app-shutdown)`}`,
        fix: `Set terminationGracePeriodSeconds: ${budget.requiredSeconds} (or run meshdrain inject).`,
      });
      return;
    }
    // A hold that asked pilot-agent to drain at its start leaves no drain after it (ADR 016, 086).
    const after = hold ? drainAfterHoldSeconds(pod.drainSeconds, holdDrainsAtStartOn(hold, opts.istioVersion)) : pod.drainSeconds;
    if (hold && !fixedOnly && bound !== null && bound > 0 && !holdFits(bound, after, pod.graceSeconds)) {
      const need = graceForHold(bound, after);
      report({
        at,
        message:
          after > 0
            ? `${grace} is less than the proxy hold's timeout plus the drain: ${secs(bound)} (hold timeout) + ${after} (Istio drain) + ${GRACE_MARGIN_SECONDS} (margin) = ${need}s; SIGKILL cuts the drain`
            : `${grace} is less than the proxy hold's timeout plus the margin: ${secs(bound)} (hold timeout, drain asked for at its start) + ${GRACE_MARGIN_SECONDS} (margin) = ${need}s; SIGKILL cuts the hold`,
        fix: `Set terminationGracePeriodSeconds: ${need} or lower the hold's timeout to ${secs(holdTimeoutMs(pod.graceSeconds, after) / 1000)}s.`,
      });
    }
  },
};

/** The linger of meshdrain's own hold as written (0 for any other hold, or none). */
const ownLingerMs = (hold: PodView['hold']): number => hold?.analysis?.ownHold?.lingerMs ?? 0;
