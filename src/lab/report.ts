/**
 * From what a run measured to what a person wants to know: per-scenario figures, whether each
 * scenario showed what it is expected to show, a text table, JSON, and a self-contained HTML page.
 */
import type { LabPod } from './kubelet.js';
import type { LabOptions, ScenarioRun } from './run.js';
import type { Verdict } from './scenarios.js';

export type FailureReason = 'reset' | 'refused' | '503' | 'other';
export type FailurePhase = 'running' | 'terminating' | 'app-exited' | 'proxy-exited' | 'no-endpoint';

export interface PodSummary {
  name: string;
  /** Seconds from the pod's termination start; null when it did not happen. */
  endpointRemovedAt: number | null;
  appSigtermAt: number | null;
  appExitAt: number | null;
  proxySigtermAt: number | null;
  proxyExitAt: number | null;
  killedAt: number | null;
  proxyOutlivedAppSeconds: number | null;
  terminationSeconds: number | null;
  egressCalls: number;
  failedEgress: number;
  /** Outbound responses with `connection: close`. */
  egressConnectionClose: number;
  /** Seconds from termination start to Envoy's drain; null: no drain (ambient, or none seen). */
  drainStartedAt: number | null;
}

export interface ScenarioSummary {
  name: string;
  title: string;
  expectation: string;
  requests: number;
  failedRequests: number;
  failedByReason: Record<FailureReason, number>;
  failedByPhase: Partial<Record<FailurePhase, number>>;
  availabilityPercent: number;
  egressCalls: number;
  failedEgress: number;
  /** The app's outbound responses that carried `connection: close` (a proxy draining outbound). */
  egressConnectionClose: number;
  /** How the pod is meshed: classic, native or ambient. */
  mode: string;
  /** Mean over the pods the rollout terminated; negative = the proxy died first. */
  proxyOutlivedAppSeconds: number;
  /** Mean pod termination time (SIGTERM phase start to the last container's exit). */
  terminationSeconds: number;
  maxTerminationSeconds: number;
  podsTerminated: number;
  podsKilled: number;
  rolloutComplete: boolean;
  graceSeconds: number;
  reproduced: boolean;
  verdict: string;
  load: 'builtin' | 'siege';
  siege?: ScenarioRun['load']['siege'];
  pods: PodSummary[];
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const rel = (t: number | undefined, t0: number) => (t === undefined ? null : r2((t - t0) / 1000));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

function reasonOf(r: string): FailureReason {
  if (r === 'reset' || r === 'refused' || r === '503') return r;
  return 'other';
}

function phaseOf(t: number, pod: LabPod | undefined): FailurePhase {
  if (!pod) return 'no-endpoint';
  if (pod.terminatingAt === undefined || t < pod.terminatingAt) return 'running';
  if (pod.proxyExitAt !== undefined && t >= pod.proxyExitAt) return 'proxy-exited';
  if (pod.appExitAt !== undefined && t >= pod.appExitAt) return 'app-exited';
  return 'terminating';
}

export function summarizePod(p: LabPod): PodSummary {
  const t0 = p.terminatingAt ?? p.createdAt;
  const last = p.appExitAt !== undefined && p.proxyExitAt !== undefined ? Math.max(p.appExitAt, p.proxyExitAt) : undefined;
  return {
    name: p.name,
    endpointRemovedAt: rel(p.endpointRemovedAt, t0),
    appSigtermAt: rel(p.appSigtermAt, t0),
    appExitAt: rel(p.appExitAt, t0),
    proxySigtermAt: rel(p.proxySigtermAt, t0),
    proxyExitAt: rel(p.proxyExitAt, t0),
    killedAt: rel(p.killedAt, t0),
    proxyOutlivedAppSeconds: p.appExitAt !== undefined && p.proxyExitAt !== undefined ? r2((p.proxyExitAt - p.appExitAt) / 1000) : null,
    terminationSeconds: p.terminatingAt !== undefined && last !== undefined ? r2((last - p.terminatingAt) / 1000) : null,
    egressCalls: p.egress.length,
    failedEgress: p.egress.filter((e) => !e.ok).length,
    egressConnectionClose: p.egress.filter((e) => e.close).length,
    drainStartedAt: rel(p.drainStartedAt, t0),
  };
}

export function summarize(run: ScenarioRun, o: Pick<LabOptions, 'replicas'>): ScenarioSummary {
  const sc = run.scenario;
  const pods = run.terminated.map(summarizePod);
  const byName = new Map([...run.terminated, ...run.created].map((p) => [p.name, p]));
  const failedByReason: Record<FailureReason, number> = { reset: 0, refused: 0, '503': 0, other: 0 };
  const reasons = run.load.kind === 'builtin' ? run.load.reasons : run.balancer.reasons;
  for (const [k, n] of Object.entries(reasons)) failedByReason[reasonOf(k)] += n;
  const failedByPhase: Partial<Record<FailurePhase, number>> = {};
  for (const f of run.balancer.failures) {
    const ph = phaseOf(f.t, byName.get(f.pod));
    failedByPhase[ph] = (failedByPhase[ph] ?? 0) + 1;
  }
  const requests = run.load.requests;
  const failedRequests = run.load.failed;
  const failedEgress = pods.reduce((s, p) => s + p.failedEgress, 0);
  const outlived = pods.map((p) => p.proxyOutlivedAppSeconds).filter((x): x is number => x !== null);
  const term = pods.map((p) => p.terminationSeconds).filter((x): x is number => x !== null);
  const podsKilled = pods.filter((p) => p.killedAt !== null).length;
  const rolloutComplete = run.created.length === o.replicas && run.terminated.every((p) => p.goneAt !== undefined);
  const s: ScenarioSummary = {
    name: sc.name,
    title: sc.title,
    expectation: sc.expectation,
    requests,
    failedRequests,
    failedByReason,
    failedByPhase,
    availabilityPercent: requests ? Math.floor(((requests - failedRequests) / requests) * 100_000) / 1000 : 0,
    egressCalls: pods.reduce((s2, p) => s2 + p.egressCalls, 0),
    failedEgress,
    egressConnectionClose: pods.reduce((s2, p) => s2 + p.egressConnectionClose, 0),
    mode: sc.spec.mode,
    proxyOutlivedAppSeconds: r2(mean(outlived)),
    terminationSeconds: r2(mean(term)),
    maxTerminationSeconds: r2(Math.max(0, ...term)),
    podsTerminated: pods.length,
    podsKilled,
    rolloutComplete,
    graceSeconds: sc.spec.graceMs / 1000,
    reproduced: false,
    verdict: '',
    load: run.load.kind,
    pods,
  };
  if (run.load.siege) s.siege = run.load.siege;
  const v = judge(s, run);
  s.reproduced = v.ok;
  s.verdict = v.why;
  return s;
}

/** Did the scenario show what it is expected to show? The criteria live with its definition. */
function judge(s: ScenarioSummary, run: ScenarioRun): Verdict {
  const fails = `${s.failedRequests} failed requests, ${s.failedEgress} failed outbound calls`;
  if (run.scenario.spec.unstartable) return { ok: false, why: `NOT as expected: the pod cannot start: ${run.scenario.spec.unstartable}` };
  if (!s.rolloutComplete) return { ok: false, why: `rollout did not complete (${fails})` };
  return run.scenario.judge({
    failedRequests: s.failedRequests,
    failedEgress: s.failedEgress,
    failed503: s.failedByReason['503'],
    podsTerminated: s.podsTerminated,
    podsKilled: s.podsKilled,
    graceSeconds: s.graceSeconds,
    proxyOutlivedAppSeconds: s.proxyOutlivedAppSeconds,
    minProxyOutlivedAppSeconds: Math.min(...s.pods.map((p) => p.proxyOutlivedAppSeconds ?? -Infinity)),
    propagationDelaySeconds: run.propagationDelayMs / 1000,
    egressConnectionClose: s.egressConnectionClose,
    firstDrainSeconds: s.pods.some((p) => p.drainStartedAt !== null) ? Math.min(...s.pods.map((p) => p.drainStartedAt ?? Infinity)) : null,
  });
}

export function toJson(sums: ScenarioSummary[], o: LabOptions): object {
  return {
    lab: {
      replicas: o.replicas,
      load: o.load,
      concurrency: o.concurrency,
      propagationDelaySeconds: o.propagationDelayMs / 1000,
      graceSeconds: o.graceSeconds,
      appShutdownSeconds: o.appShutdownMs / 1000,
      appClosesPortOnSigterm: o.appClosesPortOnSigterm,
      minimumDurationSeconds: o.durationMs / 1000,
    },
    scenarios: sums,
  };
}

export function toText(sums: ScenarioSummary[], o: LabOptions): string {
  const head = ['scenario', 'requests', 'failed', 'reset', 'refused', '503', 'other', 'avail %', 'egress fail', 'proxy-app s', 'term s', 'killed', 'reproduced'];
  const rows = sums.map((s) => [
    s.name,
    String(s.requests),
    String(s.failedRequests),
    String(s.failedByReason.reset),
    String(s.failedByReason.refused),
    String(s.failedByReason['503']),
    String(s.failedByReason.other),
    s.availabilityPercent.toFixed(3),
    `${s.failedEgress}/${s.egressCalls}`,
    s.proxyOutlivedAppSeconds.toFixed(2),
    s.terminationSeconds.toFixed(2),
    `${s.podsKilled}/${s.podsTerminated}`,
    s.reproduced ? 'yes' : 'NO',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  const out = [
    `meshdrain lab: ${o.replicas} replicas, rolling restart (maxSurge 1, maxUnavailable 0), ${o.load === 'siege' ? 'siege' : 'built-in'} load with ${o.concurrency} keep-alive clients,`,
    `endpoint propagation ${o.propagationDelayMs / 1000}s, app shutdown work ${o.appShutdownMs / 1000}s${o.appClosesPortOnSigterm ? ' (app closes its port at SIGTERM)' : ''}, grace ${o.graceSeconds}s (meshdrain: as inject writes it)`,
    '',
    line(head),
    ...rows.map(line),
    '',
    ...sums.map((s) => `${s.name}: ${s.verdict}`),
  ];
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------- HTML

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const COLORS = {
  ok: '#4c9a2a',
  fail: '#d62728',
  starting: '#c7c7c7',
  serving: '#9ecae1',
  held: '#9467bd',
  appShutdown: '#1f77b4',
  drain: '#ff7f0e',
  propagation: '#f2c14e',
};

function timelineSvg(run: ScenarioRun): string {
  const W = 960;
  const left = 150;
  const plotW = W - left - 10;
  const t0 = run.startedAt;
  const pods = [...run.terminated, ...run.created];
  const allEnds = pods.flatMap((p) => [p.goneAt ?? 0, p.appExitAt ?? 0, p.proxyExitAt ?? 0]);
  const t1 = Math.max(run.endedAt, ...allEnds);
  const tmin = Math.min(t0, ...pods.map((p) => p.createdAt));
  const span = Math.max(1, t1 - tmin);
  const x = (t: number) => left + ((t - tmin) / span) * plotW;
  const parts: string[] = [];
  // requests per second
  const chartH = 110;
  const buckets = Object.entries(run.balancer.buckets).map(([k, v]) => ({ t: Number(k) * run.bucketMs, ok: v[0], fail: v[1] }));
  const perSec = 1000 / run.bucketMs;
  const maxRps = Math.max(1, ...buckets.map((b) => (b.ok + b.fail) * perSec));
  const bw = Math.max(1, (run.bucketMs / span) * plotW - 0.5);
  const y = (v: number) => 10 + chartH - (v / maxRps) * chartH;
  for (const b of buckets) {
    const okH = ((b.ok * perSec) / maxRps) * chartH;
    const failH = ((b.fail * perSec) / maxRps) * chartH;
    parts.push(`<rect x="${x(b.t).toFixed(1)}" y="${(10 + chartH - okH).toFixed(1)}" width="${bw.toFixed(1)}" height="${okH.toFixed(1)}" fill="${COLORS.ok}"><title>${Math.round(b.ok * perSec)} ok/s</title></rect>`);
    if (b.fail) {
      const hh = Math.max(2, failH);
      parts.push(`<rect x="${x(b.t).toFixed(1)}" y="${(10 + chartH - okH - hh).toFixed(1)}" width="${Math.max(2, bw).toFixed(1)}" height="${hh.toFixed(1)}" fill="${COLORS.fail}"><title>${b.fail} failed in ${run.bucketMs} ms</title></rect>`);
    }
  }
  parts.push(`<text x="${left - 6}" y="${y(maxRps) + 4}" text-anchor="end">${Math.round(maxRps)} req/s</text>`);
  parts.push(`<text x="${left - 6}" y="${y(0)}" text-anchor="end">0</text>`);
  parts.push(`<line x1="${left}" x2="${W - 10}" y1="${y(0)}" y2="${y(0)}" stroke="#888"/>`);
  // rollout window
  parts.push(`<rect x="${x(run.rolloutStartedAt)}" y="8" width="${Math.max(1, x(run.rolloutDoneAt) - x(run.rolloutStartedAt))}" height="4" fill="#555"><title>rollout: new pods started, old ones deleted</title></rect>`);
  // pod lanes: two rows per pod (app, proxy)
  let yy = chartH + 30;
  const seg = (a: number | undefined, b: number | undefined, row: number, color: string, title: string) => {
    if (a === undefined || b === undefined || b <= a) return;
    parts.push(`<rect x="${x(a).toFixed(1)}" y="${row}" width="${Math.max(1, x(b) - x(a)).toFixed(1)}" height="8" fill="${color}"><title>${esc(title)} ${((b - a) / 1000).toFixed(2)}s</title></rect>`);
  };
  for (const p of pods) {
    const end = t1;
    const tEnd = p.terminatingAt ?? end;
    parts.push(`<text x="${left - 6}" y="${yy + 8}" text-anchor="end">${esc(p.name)}</text>`);
    parts.push(`<text x="${left - 6}" y="${yy + 19}" text-anchor="end" class="sub">app / istio-proxy</text>`);
    // app row
    seg(p.createdAt, p.readyAt ?? p.appExitAt ?? end, yy, COLORS.starting, 'starting');
    seg(p.readyAt, p.appSigtermAt ?? p.appExitAt ?? tEnd, yy, COLORS.serving, 'serving / preStop');
    seg(p.appSigtermAt, p.appExitAt ?? end, yy, COLORS.appShutdown, 'app shutdown work (after SIGTERM)');
    // proxy row
    const py = yy + 11;
    seg(p.createdAt, p.readyAt ?? p.proxyExitAt ?? end, py, COLORS.starting, 'starting');
    seg(p.readyAt, p.terminatingAt ?? p.proxyExitAt ?? end, py, COLORS.serving, 'serving');
    seg(p.terminatingAt, p.proxySigtermAt ?? p.proxyExitAt ?? end, py, COLORS.held, 'held by preStop');
    seg(p.proxySigtermAt, p.proxyExitAt ?? end, py, COLORS.drain, 'pilot-agent drain');
    if (p.terminatingAt !== undefined && p.endpointRemovedAt !== undefined) {
      parts.push(`<rect x="${x(p.terminatingAt).toFixed(1)}" y="${yy - 3}" width="${Math.max(1, x(p.endpointRemovedAt) - x(p.terminatingAt)).toFixed(1)}" height="2" fill="${COLORS.propagation}"><title>endpoint still routed (propagation)</title></rect>`);
    }
    if (p.killedAt !== undefined) parts.push(`<text x="${x(p.killedAt).toFixed(1)}" y="${yy + 19}" class="kill">✕<title>SIGKILL at the grace period</title></text>`);
    for (const e of p.egress) if (!e.ok) parts.push(`<line x1="${x(e.t).toFixed(1)}" x2="${x(e.t).toFixed(1)}" y1="${yy - 1}" y2="${yy + 9}" stroke="${COLORS.fail}"><title>outbound call failed: ${esc(e.reason)}</title></line>`);
    yy += 26;
  }
  // axis
  for (let s = 0; s <= span / 1000; s += span > 40_000 ? 5 : 2) {
    const xx = x(tmin + s * 1000);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${yy}" y2="${yy + 4}" stroke="#888"/><text x="${xx}" y="${yy + 15}" text-anchor="middle">${s}s</text>`);
  }
  parts.push(`<text x="${W - 10}" y="${yy + 28}" text-anchor="end" class="sub">seconds since the scenario's first pod was created</text>`);
  const H = yy + 34;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="timeline of ${esc(run.scenario.name)}">${parts.join('')}</svg>`;
}

function breakdown(m: Partial<Record<string, number>>): string {
  const parts = Object.entries(m).filter(([, n]) => (n ?? 0) > 0).map(([k, n]) => `${k} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
}

export function toHtml(sums: ScenarioSummary[], runs: ScenarioRun[], o: LabOptions): string {
  const rows = sums
    .map(
      (s) =>
        `<tr class="${s.reproduced ? 'ok' : 'no'}"><td><a href="#${esc(s.name)}">${esc(s.name)}</a></td><td>${s.requests}</td><td>${s.failedRequests}</td><td>${s.failedByReason.reset}</td><td>${s.failedByReason.refused}</td><td>${s.failedByReason['503']}</td><td>${s.failedByReason.other}</td><td>${s.availabilityPercent.toFixed(3)}</td><td>${s.failedEgress}/${s.egressCalls}</td><td>${s.proxyOutlivedAppSeconds.toFixed(2)}</td><td>${s.terminationSeconds.toFixed(2)}</td><td>${s.podsKilled}/${s.podsTerminated}</td><td>${s.reproduced ? 'yes' : 'NO'}</td></tr>`,
    )
    .join('\n');
  const sections = runs
    .map((run, i) => {
      const s = sums[i]!;
      return `<section id="${esc(s.name)}"><h2>${esc(s.name)} — ${esc(s.title)}</h2>
<p class="expect"><b>Expected:</b> ${esc(s.expectation)}.<br><b>Measured:</b> ${esc(s.verdict)}.<br>
<b>Failed requests</b> by reason: ${esc(breakdown(s.failedByReason))}; by phase of the pod that got them: ${esc(breakdown(s.failedByPhase))}.
Requests: ${s.requests}${s.siege ? ` (siege: ${s.siege.transactions} transactions, ${s.siege.failedTransactions} failed, availability ${s.siege.availabilityPercent} %)` : ''}. Pod termination: mean ${s.terminationSeconds}s, max ${s.maxTerminationSeconds}s, grace period ${s.graceSeconds}s.</p>
${timelineSvg(run)}
<details><summary>Manifest the lab ran (${esc(s.name)})</summary><pre>${esc(run.scenario.manifest)}</pre></details>
<details><summary>Per-pod termination (seconds from the start of termination)</summary><pre>${esc(JSON.stringify(s.pods, null, 1))}</pre></details></section>`;
    })
    .join('\n');
  const legend = [
    [COLORS.ok, 'successful requests per second'],
    [COLORS.fail, 'failed requests / failed outbound call'],
    [COLORS.starting, 'starting'],
    [COLORS.serving, 'serving (app: incl. preStop delay)'],
    [COLORS.appShutdown, 'app after SIGTERM (shutdown work)'],
    [COLORS.held, 'proxy held by its preStop'],
    [COLORS.drain, 'pilot-agent drain after SIGTERM'],
    [COLORS.propagation, 'endpoint still routed to a terminating pod'],
  ]
    .map(([c, t]) => `<span><i style="background:${c}"></i>${esc(t!)}</span>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meshdrain lab report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
table{border-collapse:collapse;width:100%}td,th{padding:4px 6px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
tr.no td:last-child{color:#d62728;font-weight:bold}tr.ok td:last-child{color:#4c9a2a}
svg text{font:11px system-ui,sans-serif;fill:#333}svg text.sub{fill:#888;font-size:9px}svg text.kill{fill:#d62728;font-size:13px;font-weight:bold}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px}.expect{background:#f8f8f0;padding:.5em}
</style></head><body>
<h1>meshdrain lab</h1>
<p>${o.replicas} replicas, rolling restart (maxSurge 1, maxUnavailable 0, readiness-gated) under ${o.load === 'siege' ? 'siege' : 'built-in'} load (${o.concurrency} keep-alive clients);
endpoint propagation ${o.propagationDelayMs / 1000}s; the app works ${o.appShutdownMs / 1000}s after SIGTERM calling an external service; grace period ${o.graceSeconds}s (meshdrain: as inject writes it).
Real network namespaces, iptables interception, processes and signals on one Linux machine.</p>
<table><thead><tr><th>scenario</th><th>requests</th><th>failed</th><th>reset</th><th>refused</th><th>503</th><th>other</th><th>avail %</th><th>failed egress</th><th>proxy outlived app (s)</th><th>termination (s)</th><th>SIGKILLed</th><th>reproduced</th></tr></thead>
<tbody>${rows}</tbody></table>
<p class="legend">${legend}</p>
${sections}
</body></html>
`;
}
