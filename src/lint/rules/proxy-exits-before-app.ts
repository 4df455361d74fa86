import { AGENT_QUIT_PATH, ANNOTATIONS, PROXY_CONTAINER } from '../../istio/facts.js';
import { proxyLifeSeconds } from '../../plan/budget.js';
import { proxyQuitRefusal } from '../../plan/facts.js';
import { holdBoundSeconds, holdDrainsAtStartOn, holdWaits, ownSleepSeconds } from '../pod.js';
import type { Rule } from '../types.js';
import { injectRemedy, secs } from './common.js';
import { examplePod, HOLD_UNBOUNDED } from './examples.js';

const EXEC_SLEEP_10 = 'lifecycle: {preStop: {exec: {command: ["sleep", "10"]}}}';

export const proxyExitsBeforeApp: Rule = {
  id: 'proxy-exits-before-app',
  severity: 'error',
  description: 'istio-proxy can stop before the app: no hold, no EXIT_ON_ZERO_ACTIVE_CONNECTIONS, no native sidecar',
  fix: 'Give istio-proxy a preStop hold that waits for the app (meshdrain inject), or use native sidecars.',
  doc: {
    rationale: `Without native sidecars the kubelet sends SIGTERM to the app and to istio-proxy at the same time.
pilot-agent starts Envoy's drain and, by default, kills Envoy after \`terminationDrainDuration\` (5s).
An app that is still working then — in its preStop delay, finishing requests, calling out to release locks
or flush queues — finds its outbound traffic redirected by iptables to a proxy that is gone: connection
refused, 503. Inbound requests still routed to the pod (endpoint removal lags 1–5 s) fail the same way.

An istio-proxy preStop that calls \`/quitquitquit\` (\`pilot-agent request POST quitquitquit\`, curl) is an
**error**: pilot-agent exits at termination start with no drain (ADR 090). As an \`httpGet\`, or an exec that
does not POST (\`curl localhost:15020/quitquitquit\` is a GET), it is a **warning**: pilot-agent quits only on a
POST from localhost and answers 405 (or 403), so the hook does nothing and the drain runs.
A Job's own command calling it at its end is the usual recipe and is not this.

The finding is an **error** when the app's own preStop delay alone outlasts the proxy, and a **warning**
when only the estimated app shutdown time (\`--app-shutdown\`, default 20s) does.
A loop hold on istio-proxy, \`EXIT_ON_ZERO_ACTIVE_CONNECTIONS=true\`, or a native sidecar (which stops after
the app) each avoid it. A hold that gives up at a timeout (a custom injection template's 28s, a
\`proxy.timeout\`) shorter than the app's delay and shutdown, less the drain, is a **warning** too.`,
    bad: examplePod({ kind: 'Deployment', app: [EXEC_SLEEP_10] }),
    good: examplePod({ kind: 'Deployment', grace: 40, app: [EXEC_SLEEP_10], hold: HOLD_UNBOUNDED }),
  },
  check(pod, opts, report) {
    if (!pod.meshed) return;
    // A gateway's proxy is the workload: no app outlives it (gateway-drain-grace judges its drain).
    if (pod.facts.mode.mode === 'gateway') return;
    // istio-proxy's own preStop quits pilot-agent (plan/facts.ts proxyPreStopQuit, ADR 090): classic or native,
    // the proxy is gone at termination start, with no drain and whatever else the pod sets.
    const quit = pod.facts.proxyQuit;
    if (quit) {
      const appNeeds = pod.appDelaySeconds + opts.appShutdownSeconds;
      const at = pod.proxy?.preStop ? pod.proxy.preStop.locAt(-1) : pod.proxy ? pod.loc([...pod.proxy.path.slice(pod.base.length)]) : pod.locKey(['spec', 'containers']);
      const fix = `Remove ${PROXY_CONTAINER}'s ${AGENT_QUIT_PATH} preStop (meshdrain inject then writes its hold; with it in place, the policy's proxy.replaceUserPreStop: true replaces it); only a Job's own command calls ${AGENT_QUIT_PATH}, at its end.`;
      if (quit === 'quits' && appNeeds > 0) {
        report({
          at,
          fix,
          message: `${PROXY_CONTAINER}'s preStop calls ${AGENT_QUIT_PATH}: the proxy exits at termination start, before the app's ${pod.appDelaySeconds ? `${pod.appDelaySeconds}s delay + ` : ''}~${opts.appShutdownSeconds}s shutdown (--app-shutdown): its requests and outbound calls fail, and no drain runs`,
        });
        return;
      }
      if (quit === 'refused') {
        report({
          severity: 'warning',
          at,
          fix,
          message: `${PROXY_CONTAINER}'s preStop ${proxyQuitRefusal(pod.facts.proxyQuitWhy)}; the hook ends there and the proxy drains as if it were not there`,
        });
      }
    }
    if (pod.native.native || pod.exitOnZero) return;
    const hold = pod.hold;
    const loops = (hold?.analysis?.loops.length ?? 0) > 0;
    const appNeeds = pod.appDelaySeconds + opts.appShutdownSeconds;
    if (hold && holdWaits(hold) && (loops || hold.opaque)) {
      // Waits for something (the hook rules judge how well), but gives up at its timeout: a timeout
      // that falls short of the app leaves it without a proxy as surely as a fixed sleep would.
      const bound = holdBoundSeconds(hold);
      if (bound === null) return;
      const atStart = holdDrainsAtStartOn(hold, opts.istioVersion);
      const life = proxyLifeSeconds(bound, pod.drainSeconds, atStart);
      if (life >= appNeeds) return;
      const needed = secs(appNeeds - proxyLifeSeconds(0, pod.drainSeconds, atStart));
      const fromTemplate = hold.path[hold.path.length - 1] === ANNOTATIONS.templates;
      const sleeps = ownSleepSeconds(hold) !== undefined;
      report({
        severity: 'warning',
        at: hold.locAt(-1),
        fix: sleeps
          ? `Select a hold that waits for the app (${ANNOTATIONS.waitFor}: app-listeners), or a sleep of at least ${needed}s, or use native sidecars.`
          : fromTemplate
          ? `Give the injection template's hold a timeout of at least ${needed}s (meshdrain: template.timeout in the policy, then meshdrain istio template -c again), or use native sidecars.`
          : `Give the hold a timeout of at least ${needed}s (meshdrain: proxy.timeout, or leave it out and it follows the grace period), or use native sidecars.`,
        message: `${PROXY_CONTAINER}'s hold ${sleeps ? `ends after its fixed ${secs(bound)}s (sleep)` : `gives up after its ${secs(bound)}s timeout`}${atStart ? ', having asked for the drain at its start,' : ` + ${pod.drainSeconds}s drain = ${secs(life)}s`}; an app that needs longer to stop (${pod.appDelaySeconds ? `${pod.appDelaySeconds}s delay + ` : ''}~${opts.appShutdownSeconds}s shutdown, --app-shutdown) loses its outbound calls`,
      });
      return;
    }
    const fixed = hold && holdWaits(hold) ? holdBoundSeconds(hold) ?? 0 : 0;
    const proxyLife = fixed + pod.drainSeconds;
    if (appNeeds <= proxyLife) return;
    const proxyDesc = fixed > 0 ? `${secs(fixed)}s fixed hold + ${pod.drainSeconds}s drain = ${secs(proxyLife)}s` : `${pod.drainSeconds}s drain, no hold`;
    const at = pod.proxy?.preStop ? pod.proxy.preStop.locAt(-1) : pod.proxy ? pod.loc([...pod.proxy.path.slice(pod.base.length)]) : pod.locKey(['spec', 'containers']);
    if (pod.appDelaySeconds >= proxyLife) {
      report({
        at,
        fix: injectRemedy(pod),
        message: `${PROXY_CONTAINER} exits after ${proxyDesc}, while the app is still in its ${pod.appDelaySeconds}s preStop delay: its requests and outbound calls fail after that`,
      });
    } else {
      report({
        severity: 'warning',
        at,
        fix: injectRemedy(pod),
        message: `${PROXY_CONTAINER} exits after ${proxyDesc}; an app that needs longer to stop (${pod.appDelaySeconds ? `${pod.appDelaySeconds}s delay + ` : ''}~${opts.appShutdownSeconds}s shutdown, --app-shutdown) loses its outbound calls`,
      });
    }
  },
};
