import { PROXY_METADATA } from '../../istio/facts.js';
import { GRACE_MARGIN_SECONDS, graceForHold } from '../../plan/budget.js';
import type { Rule } from '../types.js';
import { graceLoc, inPodFile, origin, secs } from './common.js';

const GATEWAY = (grace: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ingress, namespace: istio-ingress}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata:
      labels: {istio: ingressgateway}
      annotations:
        inject.istio.io/templates: gateway
        proxy.istio.io/config: '{"terminationDrainDuration": "30s"}'
    spec:
      terminationGracePeriodSeconds: ${grace}
      containers:
      - name: istio-proxy
        image: auto
`;

export const gatewayDrainGrace: Rule = {
  id: 'gateway-drain-grace',
  severity: 'error',
  description: "a gateway's drain (terminationDrainDuration, EXIT_ON_ZERO_ACTIVE_CONNECTIONS) does not fit its grace period",
  fix: 'Set terminationGracePeriodSeconds to the drain plus a margin, or shorten the drain.',
  doc: {
    rationale: `A gateway pod (\`inject.istio.io/templates: gateway\`) *is* the proxy: there is no app to wait for,
and meshdrain writes nothing there. On SIGTERM pilot-agent drains for \`terminationDrainDuration\` (5s by
default), or with \`EXIT_ON_ZERO_ACTIVE_CONNECTIONS\` until no connection is left (at least
\`MINIMUM_DRAIN_DURATION\`), then exits (pkg/envoy/agent.go). The kubelet's SIGKILL at the end of the grace
period cuts whatever drain is left: clients of the connections still open see resets. The grace period must
cover the drain and a margin of ${GRACE_MARGIN_SECONDS}s.`,
    bad: GATEWAY(30),
    good: GATEWAY(32),
  },
  check(pod, _opts, report) {
    const mode = pod.facts.mode;
    if (mode.mode !== 'gateway' || mode.managed) return;
    const drain = secs(pod.drainSeconds);
    const need = graceForHold(0, drain);
    const setting = pod.exitOnZero ? pod.proxyConfig.minimumDrainMs : pod.proxyConfig.terminationDrainMs;
    const name = pod.exitOnZero ? PROXY_METADATA.minimumDrain : 'terminationDrainDuration';
    const where = setting ? origin(pod, setting) : "Istio's default";
    if (need > pod.graceSeconds) {
      report({
        at: setting && inPodFile(pod, setting.at) ? setting.at : graceLoc(pod),
        message: `this gateway drains for ${drain}s (${name}, ${where}${pod.exitOnZero ? `; with ${PROXY_METADATA.exitOnZero} it goes on while connections stay open` : ''}), but its grace period is ${pod.graceSeconds}s: SIGKILL cuts the drain (needs ${need}s with the ${GRACE_MARGIN_SECONDS}s margin)`,
        fix: `Set terminationGracePeriodSeconds: ${need} or more, or shorten ${name}.`,
      });
    }
  },
};
