import { getPath, isRecord } from '../../model/workload.js';
import { locOf } from '../locate.js';
import type { Rule } from '../types.js';
import { examplePod } from './examples.js';

/** The handler types a Kubernetes LifecycleHandler may carry; exactly one is allowed. */
const HANDLER_TYPES = ['exec', 'httpGet', 'tcpSocket', 'sleep'] as const;

export const prestopTwoHandlers: Rule = {
  id: 'prestop-two-handlers',
  severity: 'error',
  description: 'a preStop with more than one handler type (exec and httpGet): the API server rejects the pod',
  fix: 'Keep one handler type: an exec that does both (e.g. sleep, then `pilot-agent request POST drain`), as meshdrain inject writes.',
  doc: {
    rationale: `A lifecycle handler must specify exactly one of exec, httpGet, tcpSocket and sleep (Kubernetes'
validation of LifecycleHandler: "may not specify more than 1 handler type"). A user preStop that adds
\`exec\` to Istio's native \`httpGet\`/exec drain, or a merge of two sources, makes the whole pod invalid
(istio/istio#51865).`,
    bad: examplePod({ app: ['lifecycle:', '  preStop:', '    exec: {command: ["sleep", "5"]}', '    httpGet: {path: /drain, port: 15020}'] }),
    good: examplePod({ app: ['lifecycle:', '  preStop:', '    exec: {command: ["sleep", "5"]}'] }),
  },
  check(pod, _opts, report) {
    const all = [...pod.apps, ...(pod.proxy ? [pod.proxy] : [])];
    for (const c of all) {
      const handler = getPath(c.spec, ['lifecycle', 'preStop']);
      if (!isRecord(handler)) continue;
      const types = HANDLER_TYPES.filter((t) => handler[t] !== undefined && handler[t] !== null);
      if (types.length < 2) continue;
      report({
        at: locOf(pod.loaded, pod.doc, [...c.path, 'lifecycle', 'preStop']),
        message: `${c.name}'s preStop has ${types.length} handler types (${types.join(', ')}); Kubernetes allows exactly one, so the pod is rejected`,
      });
    }
  },
};
