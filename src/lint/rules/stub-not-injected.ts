import { AUTO_IMAGE, PROXY_CONTAINER } from '../../istio/facts.js';
import { locOf } from '../locate.js';
import type { Rule } from '../types.js';

const STUB_HOSTNET = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter}
spec:
  selector: {matchLabels: {app: node-exporter}}
  template:
    metadata: {labels: {app: node-exporter}}
    spec:
      hostNetwork: true
      containers:
      - name: node-exporter
        image: prom/node-exporter:v1.8.2
`;

export const stubNotInjected: Rule = {
  id: 'stub-not-injected',
  severity: 'error',
  description: 'an istio-proxy override stub (image: auto) on a pod Istio will not inject: a real container with the image "auto"',
  fix: "Remove the istio-proxy stub (meshdrain inject carries istio-proxy settings in the proxy.istio.io/overrides annotation, inert where no injection happens), or let Istio inject this pod.",
  doc: {
    rationale: `Istio's injector merges an \`istio-proxy\` container with \`image: auto\` into the sidecar it injects
(pkg/kube/inject/webhook.go reapplyOverwrittenContainers). Where no injection happens it stays a real
container with the image "auto": ErrImagePull, the pod never becomes ready, a rollout stalls, a
one-replica StatefulSet goes down, a DaemonSet stops on the node. Istio never injects \`hostNetwork\`
pods or the namespaces kube-system, kube-public, kube-node-lease and local-path-storage (injectRequired),
nor a namespace whose Namespace object (in the same input) selects no injector webhook.`,
    bad: STUB_HOSTNET + '      - name: istio-proxy\n        image: auto\n',
    good: STUB_HOSTNET,
  },
  check(pod, _opts, report) {
    const mode = pod.facts.mode;
    const proxy = pod.proxy;
    if (!proxy || mode.injection !== 'no' || !pod.proxyIsStub) return;
    if (proxy.spec.image !== undefined && proxy.spec.image !== AUTO_IMAGE) return;
    report({
      at: locOf(pod.loaded, pod.doc, proxy.path),
      message: `${PROXY_CONTAINER} is an override stub (image: ${proxy.spec.image ?? 'none'}), but Istio will not inject this pod (${mode.reason}): the stub would run as a container of its own and never start`,
    });
  },
};
