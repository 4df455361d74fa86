import { holdName } from '../pod.js';
import { analysedHold, secs } from './common.js';
import { examplePod, HOLD_UNBOUNDED } from './examples.js';
import type { Rule } from '../types.js';

export const hookLongSleep: Rule = {
  id: 'hook-long-sleep',
  severity: 'error',
  description: 'the hold loop sleeps so long per turn that one extra turn runs into SIGKILL',
  fix: 'Poll every second or faster (sleep 1, or sleep 0.2 with a busybox/coreutils sleep).',
  doc: {
    rationale: `A hold loop notices the app is gone only when it wakes up. With \`sleep N\` per turn the proxy stays
up to N seconds past the app's exit, and Istio's drain starts only after that. The seed template slept
\`terminationGracePeriodSeconds\` per turn: a single turn already reaches the kubelet's SIGKILL.
The rule fires when app preStop delay + one turn + drain exceeds the grace period.`,
    bad: examplePod({ grace: 30, hold: "while grep -q ':1F90 ' /proc/net/tcp; do sleep 30; done" }),
    good: examplePod({ grace: 30, hold: HOLD_UNBOUNDED }),
  },
  check(pod, _opts, report) {
    const hold = analysedHold(pod);
    if (!hold) return;
    for (const loop of hold.analysis.loops) {
      const turn = loop.sleepPerTurnMs / 1000;
      const base = pod.appDelaySeconds + pod.drainSeconds;
      // Only when the turn tips it over; delay + drain alone overrunning is grace-period-too-short's.
      if (turn === 0 || base + turn <= pod.graceSeconds || base > pod.graceSeconds) continue;
      const first = loop.sleeps[0];
      report({
        at: first ? hold.locAt(first.offset, 5) : hold.locAt(loop.start, loop.kind.length),
        message: `${holdName(hold)} loop sleeps ${secs(turn)}s per turn: ${pod.appDelaySeconds ? `${pod.appDelaySeconds} (app delay) + ` : ''}${secs(turn)} (one turn) + ${pod.drainSeconds} (Istio drain) > ${pod.graceSeconds}s grace period, so the hold can run into SIGKILL`,
      });
    }
  },
};
