import { PROXY_METADATA } from '../../istio/facts.js';
import { holdWaits } from '../pod.js';
import type { Rule } from '../types.js';
import { injectRemedy, inPodFile } from './common.js';
import { examplePod, HOLD_BOUNDED } from './examples.js';

const EXIT_ON_ZERO = `proxy.istio.io/config: '{"proxyMetadata": {"EXIT_ON_ZERO_ACTIVE_CONNECTIONS": "true"}}'`;

export const exitOnZeroAppOutbound: Rule = {
  id: 'exit-on-zero-app-outbound',
  severity: 'info',
  description: 'EXIT_ON_ZERO_ACTIVE_CONNECTIONS without a hold counts Envoy\'s connections, not the app\'s',
  fix: 'Add a hold on the app\'s listeners (meshdrain inject) if the app makes outbound calls while it shuts down.',
  doc: {
    rationale: `With \`EXIT_ON_ZERO_ACTIVE_CONNECTIONS=true\` pilot-agent waits \`MINIMUM_DRAIN_DURATION\` and then exits as
soon as Envoy has no active downstream connections. That count is Envoy's, not the app's: an app that is
still shutting down and opens a new outbound call (to release a lock, flush a queue, send a notification)
after the count reached zero finds no proxy and fails. A hold that waits for the app's listeners to close
covers that window; this note says the mode alone does not.`,
    bad: examplePod({ annotations: [EXIT_ON_ZERO] }),
    good: examplePod({ annotations: [EXIT_ON_ZERO], hold: HOLD_BOUNDED }),
  },
  check(pod, _opts, report) {
    if (!pod.meshed || !pod.exitOnZero || pod.native.native || holdWaits(pod.hold)) return;
    const e = pod.proxyConfig.exitOnZero!;
    report({
      at: inPodFile(pod, e.at) ? e.at : pod.locKey(['metadata']),
      fix: injectRemedy(pod),
      message: `${PROXY_METADATA.exitOnZero}=true (${e.source}) with no hold: pilot-agent exits once Envoy has no active connections, and an outbound call the app opens after that fails`,
    });
  },
};
