import { ANNOTATIONS } from '../../istio/facts.js';
import { parseProxyConfigAnnotation } from '../../istio/proxy-config.js';
import type { Rule } from '../types.js';
import { examplePod } from './examples.js';
import { origin } from './common.js';

const IOP = (extra: string) => `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  values:
    global:
      proxy:
${extra}---
${examplePod({ annotations: ['sidecar.istio.io/nativeSidecar: "true"'] })}`;

export const globalLifecycleOverrides: Rule = {
  id: 'global-lifecycle-overrides',
  severity: 'warning',
  description: "global.proxy.lifecycle replaces Istio's native drain and the holdApplicationUntilProxyStarts postStart",
  fix: 'Unset global.proxy.lifecycle; give istio-proxy its preStop per pod (meshdrain inject, the custom template, or injector-patch --mode annotation).',
  doc: {
    rationale: `Istio's injection template writes istio-proxy's lifecycle from one conditional
(manifests/charts/istio-control/istio-discovery/files/injection-template.yaml:215-235 at 86c9f01):
\`{{- if .Values.global.proxy.lifecycle }}\` writes that value whole, and only *else* the
holdApplicationUntilProxyStarts postStart (\`pilot-agent wait\`, \`$holdProxy\`) or the native sidecar's drain
preStop. So a mesh-wide lifecycle silently drops both (istio/istio#47373): the app may start before the proxy
is ready, and a native sidecar gets that lifecycle's preStop, which runs as soon as termination starts
(KEP-753), instead of the drain.`,
    bad: IOP('        lifecycle:\n          preStop:\n            exec: {command: ["sleep", "20"]}\n'),
    good: IOP('        holdApplicationUntilProxyStarts: false\n'),
  },
  check(pod, opts, report) {
    const m = opts.mesh.lifecycle;
    if (!m || !pod.meshed || pod.facts.mode.injection === 'no' || pod.facts.mode.mode === 'gateway') return;
    // Injected already with the proxy in place: what the lifecycle did is in the pod; judge pods to come.
    if (pod.proxy && !pod.proxyIsStub) return;
    const lost: string[] = [];
    if (pod.native.native) lost.push(`this native sidecar's drain preStop (its lifecycle's ${m.value.includes('preStop') ? 'preStop runs when termination starts instead' : 'has no preStop: no drain is asked for'})`);
    const mesh = opts.mesh.holdApplicationUntilProxyStarts;
    let podHold: boolean | undefined;
    try {
      podHold = parseProxyConfigAnnotation(pod.annotations[ANNOTATIONS.proxyConfig]).holdApplicationUntilProxyStarts;
    } catch {
      podHold = undefined; // a bad annotation is reported where it is read with a position
    }
    if (!pod.native.native && (podHold ?? mesh?.value) === true) {
      lost.push(`the holdApplicationUntilProxyStarts postStart (${podHold !== undefined ? `${ANNOTATIONS.proxyConfig} annotation` : origin(pod, mesh!)}): the app may start before the proxy is ready`);
    }
    if (!lost.length) return;
    report({
      at: m.at,
      message: `${m.source} is set, so Istio's template writes it instead of ${lost.join(', and ')} (istio/istio#47373)`,
    });
  },
};
