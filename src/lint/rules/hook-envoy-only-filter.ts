import { holdName } from '../pod.js';
import { analysedHold } from './common.js';
import { examplePod } from './examples.js';
import type { Rule } from '../types.js';

export const hookEnvoyOnlyFilter: Rule = {
  id: 'hook-envoy-only-filter',
  severity: 'error',
  description: 'the hold loop filters out only envoy, so pilot-agent\'s listeners keep it running until SIGKILL',
  fix: 'Wait for the app\'s own ports, or ignore every Istio port (15000-15090) rather than only the envoy process.',
  doc: {
    rationale: `A common hold lists listening sockets and drops Envoy's: \`netstat -plunt | grep tcp | grep -v envoy\`.
But pilot-agent, istio-proxy's PID 1, listens too (15020 status, 15021 health, 15053 DNS), so the count never
reaches zero. The loop runs until the kubelet's SIGKILL at the end of the grace period: measured, it held
10.0 s past the app's exit with a 12 s grace period. Every rollout waits the full grace period per pod, and
Istio's drain — which starts only after the hook returns — is cut.`,
    bad: examplePod({ hold: 'while [ $(netstat -plunt | grep tcp | grep -v envoy | wc -l | xargs) -ne 0 ]; do sleep 1; done' }),
    good: examplePod({ hold: 'while [ "$(netstat -plunt | grep tcp | grep -v envoy | grep -v pilot-agent | wc -l | xargs)" != "0" ]; do sleep 1; done' }),
  },
  check(pod, _opts, report) {
    const hold = analysedHold(pod);
    if (!hold) return;
    for (const loop of hold.analysis.loops) {
      if (!loop.envoyOnlyFilter) continue;
      report({
        at: hold.locAt(loop.envoyOnlyFilter.offset, 4),
        message: `${holdName(hold)} loop lists sockets with ${loop.socketTool?.tool} and filters out only envoy; pilot-agent's own listeners (15020, 15021) keep it looping until SIGKILL at ${pod.graceSeconds}s, and Istio's drain never runs`,
      });
    }
  },
};
