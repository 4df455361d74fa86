import { PROXY_METADATA } from '../../istio/facts.js';
import type { Rule } from '../types.js';
import { graceLoc, inPodFile, origin } from './common.js';
import { examplePod } from './examples.js';

const DRAIN_30S = `proxy.istio.io/config: '{"terminationDrainDuration": "30s"}'`;

export const drainExceedsGrace: Rule = {
  id: 'drain-exceeds-grace',
  severity: 'error',
  description: 'the Istio drain (terminationDrainDuration or MINIMUM_DRAIN_DURATION) is not shorter than the grace period',
  fix: 'Keep the drain well below terminationGracePeriodSeconds, or raise the grace period.',
  doc: {
    rationale: `pilot-agent drains for \`terminationDrainDuration\` (or at least \`MINIMUM_DRAIN_DURATION\` with
\`EXIT_ON_ZERO_ACTIVE_CONNECTIONS\`) after it gets SIGTERM. If that is as long as the grace period, the kubelet's
SIGKILL ends the drain, and with it every hold and app shutdown that was meant to fit before it.`,
    bad: examplePod({ annotations: [DRAIN_30S] }),
    good: examplePod({ annotations: [DRAIN_30S], grace: 60 }),
  },
  check(pod, _opts, report) {
    // A gateway's drain against its grace period is gateway-drain-grace's (with the margin).
    if (!pod.meshed || pod.facts.mode.mode === 'gateway') return;
    const setting = pod.exitOnZero ? pod.proxyConfig.minimumDrainMs : pod.proxyConfig.terminationDrainMs;
    if (pod.drainSeconds < pod.graceSeconds) return;
    // Istio's default drain counts too when the user set a grace period below it.
    if (!setting && !pod.graceSet) return;
    const name = pod.exitOnZero ? PROXY_METADATA.minimumDrain : 'terminationDrainDuration';
    report({
      at: setting && inPodFile(pod, setting.at) ? setting.at : graceLoc(pod),
      message: `${name} ${pod.drainSeconds}s (${setting ? origin(pod, setting) : "Istio's default"}) is not shorter than the grace period ${pod.graceSeconds}s: SIGKILL cuts the drain`,
      fix: `Raise terminationGracePeriodSeconds above ${Math.ceil(pod.drainSeconds)}s plus the app's time, or shorten ${name}.`,
    });
  },
};
