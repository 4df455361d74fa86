import { ANNOTATIONS } from '../../istio/facts.js';
import type { Rule } from '../types.js';
import { examplePod } from './examples.js';

export const nativeSidecarIgnored: Rule = {
  id: 'native-sidecar-ignored',
  severity: 'warning',
  description: 'sidecar.istio.io/nativeSidecar: "true" has no effect on this Kubernetes or Istio version',
  fix: 'Upgrade (Kubernetes 1.29+, Istio 1.24+), or use a proxy hold (and quitquitquit for Jobs) meanwhile.',
  doc: {
    rationale: `Native sidecars need the kubelet's support (KEP-753: beta and on by default in Kubernetes 1.29, GA in 1.33)
and Istio's: the mesh-wide \`ENABLE_NATIVE_SIDECARS\` since 1.19, the per-pod annotation since 1.24. On older
versions the annotation is silently ignored and the pod gets a classic sidecar, with all its shutdown races.
Pass \`--kube-version\` and \`--istio-version\` (or a mesh config with the injector's values) so lint can tell.`,
    bad: examplePod({ annotations: ['sidecar.istio.io/nativeSidecar: "true"'] }),
    badArgs: ['--istio-version', '1.22'],
    good: examplePod({ annotations: ['sidecar.istio.io/nativeSidecar: "true"'] }),
    goodArgs: ['--istio-version', '1.24', '--kube-version', '1.29'],
  },
  check(pod, _opts, report) {
    if (!pod.meshed || pod.annotations[ANNOTATIONS.nativeSidecar] !== 'true' || pod.native.native) return;
    if (pod.proxy && !pod.proxyIsStub) return; // already injected: what is there is what runs
    report({
      at: pod.locKey(['metadata', 'annotations', ANNOTATIONS.nativeSidecar]),
      message: `${ANNOTATIONS.nativeSidecar}: "true" has no effect here: ${pod.native.why}`,
    });
  },
};
