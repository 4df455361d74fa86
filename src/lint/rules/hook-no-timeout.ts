import { holdName } from '../pod.js';
import { analysedHold } from './common.js';
import { examplePod, HOLD_BOUNDED, HOLD_UNBOUNDED } from './examples.js';
import type { Rule } from '../types.js';

export const hookNoTimeout: Rule = {
  id: 'hook-no-timeout',
  severity: 'warning',
  description: 'the hold loop has no timeout: an app that never lets go holds the proxy until SIGKILL',
  fix: 'Bound the loop (count turns, or wrap it in `timeout N`) so it ends grace - drain - 2s after it starts; meshdrain hook does.',
  doc: {
    rationale: `A hold waits for the app to close its listeners. If the app hangs, or keeps a port open on purpose
(an admin or metrics listener), the loop never ends by itself: the kubelet's SIGKILL at the end of the grace
period ends it, Istio's drain (which starts only after the hook returns) never runs, and the rollout waits
the whole grace period per pod. A bounded loop gives up in time for the drain to fit.`,
    bad: examplePod({ grace: 30, hold: HOLD_UNBOUNDED }),
    good: examplePod({ grace: 30, hold: HOLD_BOUNDED }),
  },
  check(pod, _opts, report) {
    const hold = analysedHold(pod);
    if (!hold || hold.analysis.maxHoldMs !== null) return;
    const loop = hold.analysis.loops.find((l) => l.boundMs === null && !l.envoyOnlyFilter); // envoy-only loops: an error of their own
    if (!loop) return;
    report({
      at: hold.locAt(loop.start, loop.kind.length),
      message: `${holdName(hold)} loop has no timeout: if the app does not close its listeners it runs until SIGKILL at ${pod.graceSeconds}s and Istio's drain never runs`,
    });
  },
};
