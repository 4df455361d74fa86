import { ANNOTATIONS, ISTIO_TEMPLATES } from '../../istio/facts.js';
import type { Rule } from '../types.js';
import { examplePod } from './examples.js';

const CM = (templates: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: istio-sidecar-injector, namespace: istio-system}
data:
  config: |-
    policy: enabled
    templates:
${templates}---
${examplePod({ annotations: ['inject.istio.io/templates: "sidecar,meshdrain"'] })}`;

export const templateNotInstalled: Rule = {
  id: 'template-not-installed',
  severity: 'error',
  description: 'the pod selects an injection template the injector does not have: istiod refuses the pod',
  fix: 'Install the template (meshdrain istio template, into the istiod values) before pods select it, or remove it from inject.istio.io/templates.',
  doc: {
    rationale: `istiod renders every template a pod names in \`inject.istio.io/templates\`; one it does not have
fails the injection with "requested template %q not found; have …" (pkg/kube/inject/inject.go RunTemplate,
line 506 at istio/istio@86c9f01), and the injector webhook's \`failurePolicy: Fail\`
(istio-discovery templates/mutatingwebhook.yaml) makes the API server reject the pod: a rollout stalls.
\`meshdrain inject --via template\` selects the \`meshdrain\` template; install it first. lint checks this
when the injector ConfigMap (its \`data.config\` lists every template) or the install's values
(\`sidecarInjectorWebhook.templates\`, beside Istio's own) are given with \`--mesh-config\`.`,
    bad: CM('      sidecar: |\n        spec: {}\n'),
    good: CM('      sidecar: |\n        spec: {}\n      meshdrain: |\n        spec: {}\n'),
  },
  check(pod, opts, report) {
    const mesh = opts.mesh;
    if (mesh.templates.size === 0 || !pod.meshed || pod.facts.mode.injection === 'no') return;
    if (pod.proxy && !pod.proxyIsStub) return; // injected already: the templates were there
    const raw = pod.annotations[ANNOTATIONS.templates];
    if (raw === undefined) return;
    // Helm values / IstioOperator list only custom templates; Istio's own come with the chart.
    const have = (n: string) => mesh.templates.has(n) || (mesh.templatesFrom !== 'injector-config' && ISTIO_TEMPLATES.includes(n));
    const missing = raw.split(',').map((t) => t.trim()).filter((t) => t && !have(t));
    if (!missing.length) return;
    const known = [...new Set([...mesh.templates.keys(), ...(mesh.templatesFrom !== 'injector-config' ? ISTIO_TEMPLATES : [])])].sort();
    const src = [...mesh.templates.values()][0]!;
    report({
      at: pod.locKey(['metadata', 'annotations', ANNOTATIONS.templates]),
      message: `${ANNOTATIONS.templates} selects ${missing.map((m) => `"${m}"`).join(', ')}, which the injector does not have (${src.at.file}: ${known.join(', ')}): istiod answers "requested template not found" and the pod is rejected`,
    });
  },
};
