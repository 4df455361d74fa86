import { AGENT_QUIT_PATH, ANNOTATIONS, PROXY_CONTAINER } from '../../istio/facts.js';
import { analyzeHook } from '../../analysis/analyze.js';
import { quitOutcome } from '../../analysis/quit-call.js';
import { atLeast, NATIVE } from '../options.js';
import type { Rule } from '../types.js';
import { inPodFile } from './common.js';

/** The docs' Job example; `templateMetadata` lines go under spec.template. */
const piJob = (templateMetadata: string[]) => `apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
${templateMetadata.map((l) => `    ${l}\n`).join('')}    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl
        command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
`;

export const jobClassicSidecar: Rule = {
  id: 'job-classic-sidecar',
  severity: 'error',
  description: 'a Job or CronJob pod with a classic istio-proxy sidecar never completes',
  fix: 'Annotate the pod template with sidecar.istio.io/nativeSidecar: "true" (Istio 1.24+, Kubernetes 1.29+).',
  doc: {
    rationale: `A Job's pod completes when all its containers exit. A classic istio-proxy sidecar does not exit when the
job's container does, so the pod stays Running, the Job never completes, and a CronJob piles up pods.
A proxy hold cannot help here. Native sidecars (an init container with \`restartPolicy: Always\`, KEP-753)
are stopped by the kubelet once the main containers exit: ask Istio for one per pod with
\`sidecar.istio.io/nativeSidecar: "true"\` (Istio 1.24+, Kubernetes 1.29+), or mesh-wide with
\`ENABLE_NATIVE_SIDECARS\` (Istio 1.19+). Where neither is available, end the job's command with
\`pilot-agent request POST quitquitquit\` (or a POST to \`localhost:15020/quitquitquit\`).`,
    bad: piJob([]),
    good: piJob(['metadata:', '  annotations:', '    sidecar.istio.io/nativeSidecar: "true"']),
  },
  check(pod, opts, report) {
    if (!pod.meshed || !pod.site.isJobLike || pod.native.native) return;
    // The job tells the proxy to quit when it is done: fine without native sidecars. A call pilot-agent
    // refuses (a GET: 405; to the pod IP from the app's container: 403) quits nothing (ADR 090 addendum).
    const answers = pod.apps.map((c) => {
      const argv = [...((c.spec.command as string[] | undefined) ?? []), ...((c.spec.args as string[] | undefined) ?? [])].filter((x) => typeof x === 'string');
      return quitOutcome(analyzeHook(argv).quitCalls, 'app');
    });
    if (answers.some((a) => a?.quits)) return;
    const refused = answers.find((a) => a && !a.quits);
    const why = refused && !refused.quits ? `; its call to ${AGENT_QUIT_PATH} does nothing: ${refused.why}` : '';
    const nativePossible = atLeast(opts.kubeVersion, NATIVE.kubeBeta.major, NATIVE.kubeBeta.minor) !== false && atLeast(opts.istioVersion, NATIVE.istioAnnotation.major, NATIVE.istioAnnotation.minor) !== false;
    const explicitFalse = pod.annotations[ANNOTATIONS.nativeSidecar] === 'false';
    report({
      at: inPodFile(pod, pod.native.at) ? pod.native.at : pod.locKey(['spec']),
      message: `${pod.site.kind} pod with a classic ${PROXY_CONTAINER} sidecar never completes: the proxy keeps running after the job's containers exit (${pod.native.why})${why}`,
      fix: nativePossible
        ? explicitFalse
          ? `Change ${ANNOTATIONS.nativeSidecar} to "true", or end the job's command with \`pilot-agent request POST quitquitquit\`.`
          : `Add the pod-template annotation ${ANNOTATIONS.nativeSidecar}: "true" (meshdrain inject does), or end the job's command with \`pilot-agent request POST quitquitquit\`.`
        : 'Native sidecars need Kubernetes 1.29+ and Istio 1.24+ (per pod); until then end the job\'s command with `pilot-agent request POST quitquitquit` (or curl -XPOST localhost:15020/quitquitquit).',
    });
  },
};
