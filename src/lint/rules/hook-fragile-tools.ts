import { FRAGILE_TOOLS } from '../../analysis/analyze.js';
import { holdName } from '../pod.js';
import { analysedHold } from './common.js';
import { examplePod } from './examples.js';
import type { Rule } from '../types.js';

export const hookFragileTools: Rule = {
  id: 'hook-fragile-tools',
  severity: 'warning',
  description: 'the istio-proxy hold depends on tools the proxy image may lack (netstat, ss, curl, bash...)',
  fix: 'Read /proc/net/tcp{,6} with plain sh (meshdrain hook generates such a hold) instead of netstat/ss/curl/bash.',
  doc: {
    rationale: `The default proxyv2 image happens to ship curl, iproute2 (ss) and net-tools (netstat), but the
distroless variant has none of them, custom images vary, and nothing promises they stay.
The seed hooks were measured with netstat missing: \`netstat | grep ... | wc -l\` printed 0, the loop read
that as "no listeners left" and returned at once — 2.0 s before the app closed — with no error anywhere.
\`sh\` plus \`/proc/net/tcp\` and \`/proc/net/tcp6\` (all containers share the pod's network namespace) is the
portable floor.`,
    bad: examplePod({ hold: 'while [ 1==1 ]; do netstat -tulpn | grep LISTEN | grep :8080; if [ $? -gt 0 ]; then break; fi; sleep 1; done' }),
    good: examplePod({ hold: "while grep -q ':1F90 ' /proc/net/tcp /proc/net/tcp6; do sleep 1; done" }),
  },
  check(pod, _opts, report) {
    const hold = analysedHold(pod);
    if (!hold || hold.analysis.fragile.length === 0) return;
    const a = hold.analysis;
    const first = a.fragile.find((f) => f.offset >= 0) ?? a.fragile[0]!;
    const list = a.fragile.map((f) => `${f.tool} (${FRAGILE_TOOLS[f.tool] ?? f.tool})`).join(', ');
    const silent = a.loops.some((l) => l.socketTool !== null);
    report({
      at: hold.locAt(first.offset, first.offset >= 0 ? first.tool.length : undefined),
      message:
        `${holdName(hold)} needs ${list}` +
        (silent
          ? '; where it is missing the pipeline prints nothing, the loop reads that as "no listeners" and the hold ends at once, silently'
          : '; where it is missing the hook fails and the proxy stops without waiting'),
    });
  },
};
