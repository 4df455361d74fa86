import { isRecord } from '../../model/workload.js';
import type { Rule } from '../types.js';
import { examplePod } from './examples.js';

export const appNoPrestopDelay: Rule = {
  id: 'app-no-prestop-delay',
  severity: 'warning',
  description: 'an app container gets SIGTERM at once, while endpoints still route traffic to the pod',
  fix: 'Add a preStop delay and count it in the grace period: meshdrain inject writes one, a wait that ends when inbound traffic has left the pod where the policy says the image has a shell (app.shell), else a 5s sleep (lifecycle.preStop.sleep.seconds: 5, Kubernetes 1.30+).',
  doc: {
    rationale: `Removing a terminating pod from Service endpoints is asynchronous: kube-proxy and Istio's EDS learn about it
1–5 s later. Until then new requests still arrive. An app that stops accepting connections on SIGTERM turns
those into errors. A few seconds of preStop delay keeps it serving until the endpoint update has propagated;
the delay is part of the grace-period budget (see grace-period-too-short). Jobs and CronJobs are exempt.
Containers that declare no ports are skipped unless they are the pod's only app container.`,
    bad: examplePod({ kind: 'Deployment', app: ['ports: [{containerPort: 8080}]'] }),
    good: examplePod({ kind: 'Deployment', app: ['ports: [{containerPort: 8080}]', 'lifecycle: {preStop: {sleep: {seconds: 5}}}'] }),
  },
  check(pod, _opts, report) {
    if (!pod.meshed || pod.site.isJobLike) return;
    for (const c of pod.apps) {
      if (c.preStop || (isRecord(c.spec.lifecycle) && c.spec.lifecycle.preStop !== undefined)) continue;
      const hasPorts = Array.isArray(c.spec.ports) && c.spec.ports.length > 0;
      if (!hasPorts && pod.apps.length > 1) continue;
      report({
        at: pod.loc([...c.path.slice(pod.base.length), 'name']),
        message: `container ${c.name} has no preStop delay: it gets SIGTERM while endpoints still send it traffic for a few seconds (kube-proxy/EDS lag)`,
      });
    }
  },
};
