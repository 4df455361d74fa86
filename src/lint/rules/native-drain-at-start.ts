import { ANNOTATIONS, NATIVE_DRAIN_PRESTOP } from '../../istio/facts.js';
import { hookDelaySeconds } from '../pod.js';
import type { Rule } from '../types.js';
import { secs } from './common.js';
import { examplePod } from './examples.js';

const NATIVE = `${ANNOTATIONS.nativeSidecar}: "true"`;
const DRAIN = NATIVE_DRAIN_PRESTOP.join(' ');

export const nativeDrainAtStart: Rule = {
  id: 'native-drain-at-start',
  severity: 'warning',
  description: "Istio's native drain starts when termination starts, while the app still needs time (app delay or shutdown)",
  fix: "Start the drain when the app's delay ends: `sleep <app delay - 1>; exec pilot-agent request --debug-port=15020 POST drain`, exec only (meshdrain inject, the custom template and the injector patch write it).",
  doc: {
    rationale: `In native-sidecar mode Istio's injection template gives istio-proxy the preStop \`${DRAIN}\`
(injection-template.yaml:225-235). A native sidecar's preStop runs as soon as the pod starts terminating
(KEP-753), so Envoy drains at once: keep-alive clients are told to leave while the app's own preStop still
waits for endpoint removal (istio/istio#60649), and the app's outbound requests may get \`connection: close\`
while it is still shutting down (#51855). pilot-agent then exits at once on its SIGTERM, after the app.
meshdrain starts the same drain, exec only and without curl, just before the app's delay ends (ADR 062).`,
    bad: examplePod({ annotations: [NATIVE], app: ['lifecycle:', '  preStop:', '    sleep: {seconds: 5}'] }),
    good: examplePod({
      annotations: [
        NATIVE,
        `proxy.istio.io/overrides: '{"initContainers":[{"name":"istio-proxy","lifecycle":{"preStop":{"exec":{"command":["/bin/sh","-c","sleep 4; exec ${DRAIN}"]}}}}]}'`,
      ],
      app: ['lifecycle:', '  preStop:', '    sleep: {seconds: 5}'],
    }),
  },
  check(pod, _opts, report) {
    if (!pod.meshed || !pod.native.native || pod.site.isJobLike || pod.facts.mode.injection === 'no') return;
    const h = pod.proxyPreStop;
    // Istio's drain applies when the preStop is its command with no delay before it, or when nothing
    // else is given and Istio's template writes it (a pod not injected yet).
    const injected = pod.proxy !== undefined && !pod.proxyIsStub;
    const istios = h ? h.analysis?.pilotAgentDrain === true && !h.analysis.ownHold && hookDelaySeconds(h) === 0 : !injected;
    if (!istios) return;
    const delay = secs(pod.appDelaySeconds);
    const work = secs(pod.facts.appShutdownSeconds);
    if (delay <= 0 && work <= 0) return;
    const waits = `its app still waits ${delay}s for endpoint removal before SIGTERM (istio/istio#60649)`;
    const works = `needs up to ${work}s to shut down, its outbound calls drained meanwhile (#51855)`;
    const needs = delay > 0 && work > 0 ? `${waits} and then ${works}` : delay > 0 ? waits : `its app ${works}`;
    const drain = pod.injected?.nativeDrain;
    // What inject would really do for this pod (one derivation): with no drain of its own, say what the user can do.
    const none = pod.injected?.noNativeDrain;
    const byHand = `give istio-proxy \`sleep <app delay - 1>; exec ${DRAIN}\` (exec only) yourself`;
    const fix = drain
      ? `meshdrain inject writes \`sleep ${drain.delaySeconds}; exec ${DRAIN}\` in its place (exec only): the drain starts as the app's delay ends.`
      : none?.why === 'app-prestop'
        ? `meshdrain inject writes no drain here: ${none.containers.join(', ')} keep${none.containers.length === 1 ? 's' : ''} ${none.containers.length === 1 ? 'its' : 'their'} own preStop, whose delay meshdrain cannot read; ${byHand}, the app's own preStop time as the delay, or begin that preStop with \`sleep N; …\` (or a sleep action) so inject reads the delay and writes the drain.`
        : none?.why === 'no-app-delay'
          ? `meshdrain inject writes no drain here: the pod has no app delay before SIGTERM; give the app one (policy app.delay, or a preStop sleep) so inject writes the drain after it, or ${byHand}.`
          : none?.why === 'gateway'
            ? `meshdrain inject leaves a gateway's istio-proxy as written; ${byHand}, in the gateway's own manifest or chart.`
            : undefined;
    report({
      at: h ? h.locAt(-1) : (pod.native.at ?? pod.loc([])),
      message: `${h ? `istio-proxy's preStop is Istio's immediate drain (${h.from ?? DRAIN})` : `Istio will give istio-proxy its immediate drain preStop (${DRAIN})`}: it starts when termination starts, while ${needs}`,
      ...(fix ? { fix } : {}),
    });
  },
};
