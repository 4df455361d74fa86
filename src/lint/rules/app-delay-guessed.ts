import { DEFAULT_APP_MAX_DELAY_MS, DEFAULT_APP_QUIET_MS } from '../../constants.js';
import { formatDuration } from '../../model/duration.js';
import type { HookView } from '../pod.js';
import type { Rule } from '../types.js';
import { secs } from './common.js';
import { examplePod } from './examples.js';

/** Seconds of a preStop that is a fixed sleep before SIGTERM (native sleep, or a script with no loop), else null. */
export function fixedSleepSeconds(h: HookView | undefined): number | null {
  if (!h || h.opaque) return null;
  if (h.sleepSeconds !== undefined) return h.sleepSeconds > 0 ? h.sleepSeconds : null;
  const a = h.analysis;
  if (!a || a.appWait || a.loops.length > 0 || a.fixedSleepMs <= 0) return null;
  return a.fixedSleepMs / 1000;
}

export const appDelayGuessed: Rule = {
  id: 'app-delay-guessed',
  severity: 'info',
  description: "an app container's preStop delay is a fixed sleep: a guess at how long endpoint removal takes",
  fix: `Let the delay end when inbound traffic has left the pod: meshdrain inject with the policy's app.shell: true (the image has /bin/sh) or app.shell: init-container writes a wait that ends after ${formatDuration(DEFAULT_APP_QUIET_MS)} without an inbound connection, at most ${formatDuration(DEFAULT_APP_MAX_DELAY_MS)} (app.quiet, app.maxDelay).`,
  doc: {
    rationale: `A preStop sleep before SIGTERM covers the time every client needs to stop routing to the pod: other
pods' Envoys learn of the removal from istiod's push, kube-proxy paths from the EndpointSlice, ztunnel from
its own push. That time is not a constant: istiod's debounce, its load and the cluster's size make it anything
from a fraction of a second to minutes. A fixed sleep is too short somewhere (an app that stops accepting at
SIGTERM — Go's \`http.Server.Shutdown\`, Node's \`server.close()\`, Spring Boot's graceful shutdown — answers
the late requests with errors) and too long everywhere else (every rollout waits it out, pod by pod).

What the pod can observe is the arrival of traffic itself: every path into the pod ends in a TCP connection in
the pod's network namespace (\`/proc/net/tcp*\`). meshdrain's traffic-gone wait ends once no inbound connection
has been seen for a quiet window, with an upper bound the grace period counts (docs/adr/014, 015).

This is information, not an error: a sleep may be the right choice (no shell in the image, a measured lag).
An explicit \`app.delay\` in a meshdrain policy renders such a sleep on purpose. Jobs and CronJobs are exempt.`,
    bad: examplePod({ kind: 'Deployment', app: ['ports: [{containerPort: 8080}]', 'lifecycle: {preStop: {sleep: {seconds: 5}}}'] }),
    good: examplePod({ kind: 'Deployment', app: ['ports: [{containerPort: 8080}]', 'lifecycle: {preStop: {exec: {command: ["/app/bin/drain-wait"]}}}'] }),
  },
  check(pod, _opts, report) {
    if (!pod.meshed || pod.site.isJobLike) return;
    for (const c of pod.apps) {
      const s = fixedSleepSeconds(c.preStop);
      if (s === null) continue;
      report({
        at: c.preStop!.locAt(-1),
        message: `container ${c.name} waits a fixed ${secs(s)}s before SIGTERM: a guess at endpoint propagation (istiod's push lag varies from under 1s to minutes); too short loses requests, too long slows every rollout`,
      });
    }
  },
};
