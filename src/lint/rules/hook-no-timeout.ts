import { holdName } from '../pod.js';
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
    bad: `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: web
    image: web:1
  - name: istio-proxy
    image: auto
    lifecycle:
      preStop:
        exec:
          command: ["/bin/sh", "-c", "while grep -q ':1F90 ' /proc/net/tcp; do sleep 1; done"]
`,
    good: `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: web
    image: web:1
  - name: istio-proxy
    image: auto
    lifecycle:
      preStop:
        exec:
          command: ["/bin/sh", "-c", "for i in $(seq 1 23); do grep -q ':1F90 ' /proc/net/tcp || exit 0; sleep 1; done"]
`,
  },
  check(pod, _opts, report) {
    const hold = pod.hold;
    const a = hold?.analysis;
    if (!pod.meshed || !hold || !a || a.maxHoldMs !== null) return;
    const loop = a.loops.find((l) => l.boundMs === null && !l.envoyOnlyFilter); // envoy-only loops: an error of their own
    if (!loop) return;
    report({
      at: hold.locAt(loop.start, loop.kind.length),
      message: `${holdName(hold)} loop has no timeout: if the app does not close its listeners it runs until SIGKILL at ${pod.graceSeconds}s and Istio's drain never runs`,
    });
  },
};
