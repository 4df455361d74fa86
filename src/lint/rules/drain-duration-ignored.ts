import { PROXY_METADATA } from '../../istio/facts.js';
import type { Rule } from '../types.js';
import { inPodFile, origin } from './common.js';
import { examplePod } from './examples.js';

export const drainDurationIgnored: Rule = {
  id: 'drain-duration-ignored',
  severity: 'warning',
  description: 'terminationDrainDuration is set together with EXIT_ON_ZERO_ACTIVE_CONNECTIONS, which ignores it',
  fix: 'Drop terminationDrainDuration, or set MINIMUM_DRAIN_DURATION in proxyMetadata if you meant a minimum.',
  doc: {
    rationale: `With \`EXIT_ON_ZERO_ACTIVE_CONNECTIONS=true\` pilot-agent sleeps \`MINIMUM_DRAIN_DURATION\` (default 5s) and then
polls Envoy's active downstream connections every second, exiting at zero. \`terminationDrainDuration\` is not
consulted in that mode; only the kubelet's SIGKILL bounds it. A value set there documents an intent that
Istio does not carry out.`,
    bad: examplePod({ annotations: ['proxy.istio.io/config: |', '  terminationDrainDuration: 20s', '  proxyMetadata:', '    EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true"'] }),
    good: examplePod({ annotations: ['proxy.istio.io/config: |', '  proxyMetadata:', '    EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true"', '    MINIMUM_DRAIN_DURATION: "10s"'] }),
  },
  check(pod, _opts, report) {
    const t = pod.proxyConfig.terminationDrainMs;
    const e = pod.proxyConfig.exitOnZero;
    if (!pod.meshed || !pod.exitOnZero || !t || !e) return;
    report({
      at: inPodFile(pod, t.at) ? t.at : inPodFile(pod, e.at) ? e.at : pod.locKey(['metadata']),
      message: `terminationDrainDuration ${t.value / 1000}s (${origin(pod, t)}) is ignored: with ${PROXY_METADATA.exitOnZero}=true (${e.source}) pilot-agent waits ${PROXY_METADATA.minimumDrain} (${pod.drainSeconds}s) and then until Envoy has no active connections`,
    });
  },
};
