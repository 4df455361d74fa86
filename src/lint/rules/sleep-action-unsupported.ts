import { PRESTOP_SLEEP_ACTION_VERSION as SINCE } from '../../istio/facts.js';
import { atLeast, formatVersion } from '../../model/version.js';
import type { Rule } from '../types.js';
import { examplePod } from './examples.js';

export const sleepActionUnsupported: Rule = {
  id: 'sleep-action-unsupported',
  severity: 'error',
  description: 'a preStop `sleep` action on a Kubernetes version without it (before 1.30)',
  fix: 'Use an exec preStop (`/bin/sh -c "sleep 5"`) where the image has a shell (meshdrain inject does with the policy\'s app.shell: true), or upgrade to Kubernetes 1.30+.',
  doc: {
    rationale: `The preStop \`sleep\` action (KEP-3960) is alpha in Kubernetes 1.29 (off by default), beta and on by default in
1.30, GA in 1.34. On an older API server the field is rejected or dropped, and the delay before SIGTERM that
was meant to let endpoint removal propagate is gone. Pass \`--kube-version\` (the oldest cluster you deploy to)
so lint can tell; ADR 004.`,
    bad: examplePod({ app: ['lifecycle: {preStop: {sleep: {seconds: 5}}}'] }),
    badArgs: ['--kube-version', '1.28'],
    good: examplePod({ app: ['lifecycle: {preStop: {exec: {command: ["/bin/sh", "-c", "sleep 5"]}}}'] }),
    goodArgs: ['--kube-version', '1.28'],
  },
  check(pod, opts, report) {
    if (atLeast(opts.kubeVersion, SINCE.major, SINCE.minor) !== false) return;
    for (const c of [...pod.apps, ...(pod.proxy ? [pod.proxy] : [])]) {
      const h = c.preStop;
      if (h?.sleepSeconds === undefined) continue;
      report({
        at: h.locAt(-1),
        message: `${c.name}'s preStop is a sleep action, which Kubernetes ${formatVersion(opts.kubeVersion!)} does not have (${formatVersion(SINCE)}+): no delay before SIGTERM`,
      });
    }
  },
};
