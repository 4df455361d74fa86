/**
 * From what a run measured to what a person wants to know: per-scenario figures, whether each
 * scenario showed what it is expected to show, a text table, JSON, and a self-contained HTML page.
 */
import type { LabPod, PreStopResult, QuitRequest } from './kubelet.js';
import type { LabOptions, ScenarioRun } from './run.js';
import { APP_METRICS_PORT, APP_PORT } from './pod-spec.js';
import type { InjectPolicyUsed, Verdict } from './scenarios.js';
import { builtinRollout } from './rollout.js';
import { APP_WAIT_END_BOUND, APP_WAIT_TAG } from '../hooks/app-wait.js';

export type FailureReason = 'reset' | 'refused' | '503' | 'other';
export type FailurePhase = 'running' | 'terminating' | 'app-exited' | 'proxy-exited' | 'no-endpoint';

export interface PodSummary {
  name: string;
  /** Seconds from the pod's termination start; null when it did not happen. */
  endpointRemovedAt: number | null;
  /** When the pod's own proxy learned its endpoint was removed (its EDS view; ADR 075). */
  ownRemovalAt: number | null;
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
  /** Failed outbound calls by the phase they failed in (proxy-exited: the proxy was gone). */
  failedEgressByPhase: Partial<Record<FailurePhase, number>>;
  /** How each preStop ended, as the kubelet sees it (FailedPreStopHook with its cause). */
  preStops: PreStopResult[];
  /** Requests istio-proxy's /quitquitquit endpoints answered (pilot-agent's, Envoy admin's): method, peer, status (ADR 091). */
  quitRequests: QuitRequest[];
  /**
   * The termination split (issue 12): the app's delay (termination start → the app's SIGTERM), its
   * work (SIGTERM → exit), the proxy's tail after the app exited (negative: the proxy died first), and
   * the total (terminationSeconds). null where the step did not happen.
   */
  split: { appDelaySeconds: number | null; appWorkSeconds: number | null; proxyTailSeconds: number | null; totalSeconds: number | null };
  /**
   * The app's traffic-gone wait (policy app.shell, ADR 014) ended at its upper bound with inbound
   * connections still open: long-lived ones (gRPC streams, WebSockets) never go quiet (ADR 076 addendum).
   */
  appWaitHitBound: boolean;
}

/** How the app behaved in a run (the flags that shape the lab's app). */
export interface AppBehaviour {
  shutdownSeconds: number;
  closesPort: boolean;
  /** The app called the external service during its shutdown work (--app-calls-out, lab.app.callsOut; ADR 079). */
  callsOut: boolean;
  port: number;
  /** The second port kept open until exit; null: none. */
  metricsPort: number | null;
}

export interface ScenarioSummary {
  name: string;
  /** The protocol of the load (http1: keep-alive HTTP/1.1). */
  protocol: string;
  /** websocket: connections cut before the app closed them (each also in failedRequests). */
  cutConnections?: number;
  /**
   * The mesh clients' retries (ADR 077): the policy, requests the client proxy retried, those that then
   * succeeded (not in failedRequests: the client never saw them fail), and retried attempts by reason.
   */
  clientRetries: { policy: string; retriedRequests: number; recoveredRequests: number; retries: Record<string, number> };
  propagationDelaySeconds: number;
  app: AppBehaviour;
  /** The proxy image variant istio-proxy's hooks ran with. */
  proxyVariant: string;
  /** --manifest: the workload, the rollout as run, what the lab did with each hook, and notes. */
  workload?: string;
  rollout?: { replicas: number; maxSurge: number; maxUnavailable: number; notes: string[] };
  hooks?: { container: string; at: string; action: string; why: string }[];
  notes?: string[];
  title: string;
  expectation: string;
  /** The `*-meshdrain` scenarios: the policy inject ran with (the lab app's description, or --policy). */
  injectPolicy?: InjectPolicyUsed;
  requests: number;
  failedRequests: number;
  failedByReason: Record<FailureReason, number>;
  /** The failures by the exact reason the client or the balancer saw (goaway, timeout, session-error, ...). */
  failureReasons: Record<string, number>;
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
    ownRemovalAt: rel(p.ownRemovalAt, t0),
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
    failedEgressByPhase: p.egress.filter((e) => !e.ok).reduce<Partial<Record<FailurePhase, number>>>((acc, e) => {
      const ph = phaseOf(e.t, p);
      acc[ph] = (acc[ph] ?? 0) + 1;
      return acc;
    }, {}),
    preStops: [...p.preStops],
    quitRequests: [...p.quitRequests],
    appWaitHitBound: p.events.some((e) => e.kind === 'log' && e.container === 'app' && e.detail !== undefined && e.detail.includes(`${APP_WAIT_TAG} `) && e.detail.includes(`: ${APP_WAIT_END_BOUND} `)),
    split: {
      appDelaySeconds: p.appSigtermAt !== undefined && p.terminatingAt !== undefined ? r2((p.appSigtermAt - p.terminatingAt) / 1000) : null,
      appWorkSeconds: p.appSigtermAt !== undefined && p.appExitAt !== undefined ? r2((p.appExitAt - p.appSigtermAt) / 1000) : null,
      proxyTailSeconds: p.appExitAt !== undefined && p.proxyExitAt !== undefined ? r2((p.proxyExitAt - p.appExitAt) / 1000) : null,
      totalSeconds: p.terminatingAt !== undefined && last !== undefined ? r2((last - p.terminatingAt) / 1000) : null,
    },
  };
}

export function summarize(run: ScenarioRun, o: Pick<LabOptions, 'replicas'> & Partial<Pick<LabOptions, 'appShutdownMs' | 'appClosesPortOnSigterm' | 'appCallsOut' | 'clientRetries'>>): ScenarioSummary {
  const sc = run.scenario;
  const pods = run.terminated.map(summarizePod);
  const byName = new Map([...run.terminated, ...run.created].map((p) => [p.name, p]));
  const failedByReason: Record<FailureReason, number> = { reset: 0, refused: 0, '503': 0, other: 0 };
  const reasons = run.load.kind === 'builtin' ? run.load.reasons : run.balancer.reasons;
  for (const [k, n] of Object.entries(reasons)) failedByReason[reasonOf(k)] += n;
  const failedByPhase: Partial<Record<FailurePhase, number>> = {};
  // WebSocket: the load's own failures (messages, with the pod each connection reached); else the balancer's.
  for (const f of run.load.failures ?? run.balancer.failures) {
    const ph = phaseOf(f.t, byName.get(f.pod));
    failedByPhase[ph] = (failedByPhase[ph] ?? 0) + 1;
  }
  const requests = run.load.requests;
  const failedRequests = run.load.failed;
  const failedEgress = pods.reduce((s, p) => s + p.failedEgress, 0);
  const outlived = pods.map((p) => p.proxyOutlivedAppSeconds).filter((x): x is number => x !== null);
  const term = pods.map((p) => p.terminationSeconds).filter((x): x is number => x !== null);
  const podsKilled = pods.filter((p) => p.killedAt !== null).length;
  const replicas = sc.rollout?.replicas ?? o.replicas;
  const rolloutComplete = run.created.length === replicas && run.terminated.every((p) => p.goneAt !== undefined);
  const mp = sc.manifestPod;
  const s: ScenarioSummary = {
    name: sc.name,
    protocol: run.protocol ?? 'http1',
    propagationDelaySeconds: run.propagationDelayMs / 1000,
    app: {
      shutdownSeconds: (o.appShutdownMs ?? 0) / 1000,
      closesPort: o.appClosesPortOnSigterm === true,
      callsOut: o.appCallsOut !== false,
      port: sc.spec.appPort ?? APP_PORT,
      metricsPort: sc.spec.metricsPort === undefined ? APP_METRICS_PORT : sc.spec.metricsPort,
    },
    proxyVariant: sc.spec.proxyVariant ?? 'default',
    clientRetries: {
      policy: o.clientRetries ?? 'istio-default',
      retriedRequests: run.balancer.retriedRequests ?? 0,
      recoveredRequests: run.balancer.recoveredRequests ?? 0,
      retries: { ...(run.balancer.retries ?? {}) },
    },
    ...(mp
      ? {
          workload: mp.workload,
          rollout: { replicas: mp.rollout.replicas, maxSurge: mp.rollout.maxSurge, maxUnavailable: mp.rollout.maxUnavailable, notes: mp.rollout.notes },
          hooks: mp.hooks,
          notes: mp.notes,
        }
      : {}),
    title: sc.title,
    expectation: sc.expectation,
    ...(sc.injectPolicy ? { injectPolicy: sc.injectPolicy } : {}),
    requests,
    failedRequests,
    failedByReason,
    failureReasons: { ...reasons },
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
  if (run.load.cut !== undefined) s.cutConnections = run.load.cut;
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
    appCallsOut: s.app.callsOut,
  });
}

export function toJson(sums: ScenarioSummary[], o: LabOptions): object {
  return {
    lab: {
      replicas: o.replicas,
      load: o.load,
      concurrency: o.concurrency,
      propagationDelaySeconds: o.propagationDelayMs / 1000,
      ...(o.propagationDelaysMs?.length ? { propagationDelaysSeconds: o.propagationDelaysMs.map((d) => d / 1000) } : {}),
      ...(o.appMetricsPort !== undefined ? { appMetricsPort: o.appMetricsPort } : {}),
      ...(o.clients?.length ? { clients: o.clients } : {}),
      graceSeconds: o.graceSeconds,
      appShutdownSeconds: o.appShutdownMs / 1000,
      appClosesPortOnSigterm: o.appClosesPortOnSigterm,
      appCallsOut: o.appCallsOut !== false,
      clientRetries: o.clientRetries ?? 'istio-default',
      minimumDurationSeconds: o.durationMs / 1000,
      // What ran (additions, ADR 094): `replicas` and `graceSeconds` above are the --replicas and
      // --grace settings of the built-in scenarios; a --manifest run rolls its workload's.
      rollout: rolled(sums, o),
      gracePeriodsSeconds: [...new Set(sums.map((s) => s.graceSeconds))],
      dataPlaneModes: [...new Set(sums.map((s) => s.mode))],
      ...(o.manifest ? { workload: o.manifest.workload } : {}),
    },
    ...(o.manifest
      ? {
          manifest: {
            workload: o.manifest.workload,
            judged: o.manifest.judged,
            answer: sums.map((s) => ({ name: s.name, line: answerLine(s) })),
            injectChanges: o.manifest.injectChanges,
            injectNotes: o.manifest.injectNotes,
          },
        }
      : {}),
    scenarios: sums,
  };
}

/** The protocol when the rows share one other than http1 (several: the table has a column). */
function protocolNote(sums: ScenarioSummary[]): string {
  const ps = [...new Set(sums.map((s) => s.protocol))];
  const how: Record<string, string> = {
    http2: 'h2c between the client-side proxy and the pod',
    grpc: 'grpc-js unary calls and Watch streams, h2c end to end',
    websocket: 'long-lived ws connections, an HTTP/1.1 upgrade tunnelled by both proxies',
  };
  return ps.length === 1 && ps[0] !== 'http1' ? `, app protocol ${ps[0]} (${how[ps[0]!] ?? ps[0]})` : '';
}

/** The app's behaviour flags for the text header: ` (app closes its port at SIGTERM; ...)` or nothing. */
function appNotes(o: Pick<LabOptions, 'appClosesPortOnSigterm' | 'appCallsOut'>): string {
  const notes = [o.appClosesPortOnSigterm ? 'app closes its port at SIGTERM' : '', o.appCallsOut === false ? 'no outbound calls after SIGTERM' : ''].filter(Boolean);
  return notes.length ? ` (${notes.join('; ')})` : '';
}

/** "classic sidecar", "native sidecar", "ambient (ztunnel)": a --manifest run's data-plane mode in words. */
const MODE_WORDS: Record<string, string> = { classic: 'classic sidecar', native: 'native sidecar', ambient: 'ambient (ztunnel, no sidecar)' };

/** The rollout that ran: a --manifest run's workload's (as resolved, capped), else the built-in one of --replicas. */
function rolled(sums: ScenarioSummary[], o: LabOptions): { replicas: number; maxSurge: number; maxUnavailable: number } {
  const r = (o.manifest ? sums.find((s) => s.rollout)?.rollout : undefined) ?? builtinRollout(o.replicas);
  return { replicas: r.replicas, maxSurge: r.maxSurge, maxUnavailable: r.maxUnavailable };
}

/**
 * The run's header, the text report's first lines and the HTML's: what ran. A --manifest run says
 * its workload's rollout, each row's grace period and the data-plane mode (QA 9 findings 6 and 13);
 * the built-in lab its own settings.
 */
export function runHeader(sums: ScenarioSummary[], o: LabOptions): string[] {
  const r = rolled(sums, o);
  const shape = `${o.manifest ? `${o.manifest.workload}: ` : ''}${r.replicas} replicas, rolling restart (maxSurge ${r.maxSurge}, maxUnavailable ${r.maxUnavailable})`;
  const grace = o.manifest ? `grace as the manifest says (${sums.map((s) => `${s.name} ${s.graceSeconds}s`).join(', ')})` : `grace ${o.graceSeconds}s (meshdrain: as inject writes it)`;
  const modes = [...new Set(sums.map((s) => s.mode))];
  const mode = !o.manifest || !modes.length ? [] : [`data-plane mode: ${modes.length === 1 ? MODE_WORDS[modes[0]!] ?? modes[0] : sums.map((s) => `${s.name} ${MODE_WORDS[s.mode] ?? s.mode}`).join(', ')}`];
  return [
    `meshdrain lab: ${shape}, ${o.load === 'siege' ? 'siege' : 'built-in'} load with ${o.concurrency} keep-alive clients${protocolNote(sums)},`,
    `endpoint propagation ${[...new Set(sums.map((s) => s.propagationDelaySeconds))].map((d) => `${d}s`).join(', ') || `${o.propagationDelayMs / 1000}s`}, app shutdown work ${o.appShutdownMs / 1000}s${appNotes(o)}, ${grace},`,
    ...mode,
    (o.clientRetries ?? 'istio-default') === 'istio-default' ? "client proxies retry as Istio's default route does (2 retries: connect-failure, refused-stream, unavailable, cancelled; --client-retries none turns it off)" : 'no client retries (--client-retries none)',
  ];
}

/**
 * A --manifest run's closing sections, the text's and the HTML's: each row's hooks and notes, then
 * what meshdrain inject would change (the part that tells the user what to edit).
 */
export function manifestSections(sums: ScenarioSummary[], o: LabOptions): { head: string; lines: string[] }[] {
  if (!o.manifest) return [];
  const m = o.manifest;
  return [
    ...sums.map((s) => ({
      head: `${s.name}: hooks (${s.proxyVariant} proxy image)`,
      lines: [...(s.hooks?.length ? s.hooks.map((h) => `${h.at} ${h.container}: ${h.action}: ${h.why}`) : ['none']), ...quitLines(s), ...runNotes(s).map((n) => `note: ${n}`)],
    })),
    {
      head: m.injectChanges.length ? `meshdrain inject would change ${m.workload}:` : `meshdrain inject would change nothing in ${m.workload}`,
      lines: [...m.injectChanges.map((c) => `${c.at}: ${c.what}`), ...m.injectNotes.map((n) => `note: ${n}`)],
    },
  ];
}

export function toText(sums: ScenarioSummary[], o: LabOptions): string {
  // Several propagation delays (or protocols) in one run: one table, a column for each that varies.
  const many = <T,>(f: (s: ScenarioSummary) => T) => new Set(sums.map(f)).size > 1;
  const extra: [string, (s: ScenarioSummary) => string][] = [
    ...(many((s) => s.protocol) ? [['protocol', (s: ScenarioSummary) => s.protocol] as [string, (s: ScenarioSummary) => string]] : []),
    ...(many((s) => s.propagationDelaySeconds) ? [['prop s', (s: ScenarioSummary) => String(s.propagationDelaySeconds)] as [string, (s: ScenarioSummary) => string]] : []),
  ];
  const head = ['scenario', ...extra.map(([h]) => h), 'requests', 'failed', 'reset', 'refused', '503', 'other', 'avail %', 'egress fail', 'proxy-app s', 'term s', 'killed', 'reproduced'];
  const rows = sums.map((s) => [
    s.name,
    ...extra.map(([, f]) => f(s)),
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
    ...runHeader(sums, o),
    '',
    line(head),
    ...rows.map(line),
    '',
    ...sums.map((s) => `${s.name}${extra.length ? ` (${extra.map(([h, f]) => `${h} ${f(s)}`).join(', ')})` : ''}: ${s.verdict}${appWaitBoundNote(s)}`),
  ];
  const retriedRows = sums.filter((s) => s.clientRetries.retriedRequests > 0);
  if (retriedRows.length) {
    out.push('', 'retried by the client proxies (not counted as failed when the retry succeeded):');
    for (const s of retriedRows) out.push(`  ${s.name}${extra.length ? ` (${extra.map(([h, f]) => `${h} ${f(s)}`).join(', ')})` : ''}: ${s.clientRetries.retriedRequests} requests retried (${Object.entries(s.clientRetries.retries).map(([k, n]) => `${n} ${k}`).join(', ')}), ${s.clientRetries.recoveredRequests} then succeeded`);
  }
  const policies = [...new Map(sums.filter((s) => s.injectPolicy).map((s) => [s.name, s.injectPolicy!.says])).entries()];
  if (policies.length) out.push('', ...policies.map(([name, says]) => `${name}: inject ran with ${says}`));
  if (o.manifest) {
    out.push('', 'termination per pod (seconds from deletion): app delay, app work, proxy tail after the app exited, total');
    for (const s of sums) for (const p of s.pods) out.push(`  ${s.name} ${p.name}: ${[p.split.appDelaySeconds, p.split.appWorkSeconds, p.split.proxyTailSeconds, p.split.totalSeconds].map((x) => (x === null ? '-' : x.toFixed(2))).join(', ')}${p.killedAt !== null ? ' (SIGKILLed)' : ''}`);
    for (const sec of manifestSections(sums, o)) out.push('', sec.head, ...sec.lines.map((l) => `  ${l}`));
  }
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
  const buckets = Object.entries(run.load.buckets ?? run.balancer.buckets).map(([k, v]) => ({ t: Number(k) * run.bucketMs, ok: v[0], fail: v[1] }));
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
<p>${runHeader(sums, o).map((l) => esc(l.replace(/^meshdrain lab: /, ''))).join('<br>\n')}<br>
Real network namespaces, iptables interception, processes and signals on one Linux machine.</p>
<table><thead><tr><th>scenario</th><th>requests</th><th>failed</th><th>reset</th><th>refused</th><th>503</th><th>other</th><th>avail %</th><th>failed egress</th><th>proxy outlived app (s)</th><th>termination (s)</th><th>SIGKILLed</th><th>reproduced</th></tr></thead>
<tbody>${rows}</tbody></table>
<p class="legend">${legend}</p>
${manifestSections(sums, o).map((sec) => `<section class="manifest"><h3>${esc(sec.head)}</h3>${sec.lines.length ? `<ul>${sec.lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : ''}</section>`).join('\n')}
${sections}
</body></html>
`;
}

// ---------------------------------------------------------------- the one-line answer (--manifest)

const PHASE_WORDS: Record<FailurePhase, string> = {
  running: 'before termination',
  terminating: 'while terminating',
  'app-exited': 'after the app exited',
  'proxy-exited': 'after istio-proxy exited',
  'no-endpoint': 'with no endpoint',
};

const byCount = (m: Partial<Record<string, number>>) =>
  Object.entries(m)
    .filter(([, n]) => (n ?? 0) > 0)
    .sort((a, b) => b[1]! - a[1]!)
    .map(([k, n]) => `${n} ${PHASE_WORDS[k as FailurePhase] ?? k}`)
    .join(', ');

/**
 * "; the app's wait … ran to its upper bound in N of M pods (…)" when it did, else ''. Not a failure:
 * each such pod's SIGTERM waited the app's whole bound, so the rollout took that much longer (ADR 076
 * addendum). The answer line and the text report's verdict lines both end with it.
 */
export function appWaitBoundNote(s: ScenarioSummary): string {
  const bound = s.pods.filter((p) => p.appWaitHitBound).length;
  return bound
    ? `; the app's wait for inbound traffic to leave ran to its upper bound in ${bound} of ${s.podsTerminated} pods (long-lived connections such as gRPC streams or WebSockets never go quiet, and Envoy's drain does not close them)`
    : '';
}

/**
 * One line a person can act on: is the workload's shutdown safe in this run, and if not, each failure
 * with its phase and cause (requests by phase and reason, outbound calls by phase, failed hooks,
 * SIGKILLs).
 */
export function answerLine(s: ScenarioSummary): string {
  const who = s.workload ?? s.name;
  const term = `termination ${s.terminationSeconds.toFixed(1)}s mean, ${s.maxTerminationSeconds.toFixed(1)}s max`;
  const failedHooks = s.pods.flatMap((p) => p.preStops.filter((h) => !h.ok).map((h) => `${h.container} preStop ${h.detail}`));
  const hookCauses = [...new Set(failedHooks)];
  const slow = appWaitBoundNote(s);
  if (s.reproduced && s.failedRequests === 0 && s.failedEgress === 0 && s.podsKilled === 0) {
    return `${who}: safe in this run: 0 of ${s.requests} requests and 0 of ${s.egressCalls} outbound calls failed, no pod SIGKILLed (${term})${slow}`;
  }
  const parts: string[] = [];
  if (s.failedRequests > 0) {
    const reasons = Object.entries(s.failureReasons).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${n} ${r}`).join(', ');
    parts.push(`${s.failedRequests} of ${s.requests} requests failed (${reasons}; ${byCount(s.failedByPhase) || 'phase unknown'})`);
  }
  if (s.failedEgress > 0) {
    const phases: Partial<Record<FailurePhase, number>> = {};
    for (const p of s.pods) for (const [k, n] of Object.entries(p.failedEgressByPhase)) phases[k as FailurePhase] = (phases[k as FailurePhase] ?? 0) + (n ?? 0);
    const died = s.pods.filter((p) => (p.proxyOutlivedAppSeconds ?? 0) < 0).length;
    parts.push(`${s.failedEgress} of ${s.egressCalls} outbound calls failed (${byCount(phases)}${died ? `; istio-proxy exited before the app in ${died} of ${s.podsTerminated} pods` : ''})`);
  }
  if (hookCauses.length) parts.push(hookCauses.join('; '));
  if (s.podsKilled > 0) {
    const held = s.pods.filter((p) => p.killedAt !== null && p.preStops.some((h) => h.detail.startsWith('killed'))).length;
    parts.push(`${s.podsKilled} of ${s.podsTerminated} pods SIGKILLed at terminationGracePeriodSeconds ${s.graceSeconds}s${held ? ` (a preStop still running: held until SIGKILL)` : ''}`);
  }
  if (!s.rolloutComplete) parts.push('the rollout did not complete');
  return `${who}: NOT safe: ${parts.join('; ') || s.verdict} (${term})${slow}`;
}

/** One run's timeline as a section of the sweep's HTML matrix (its cell links to `#id`). */
export function timelineSection(id: string, label: string, s: ScenarioSummary, run: ScenarioRun): string {
  return `<section id="${esc(id)}"><h2>${esc(label)}</h2>
<p>${esc(s.verdict)}. Requests ${s.requests}, failed ${s.failedRequests} (${esc(breakdown(s.failedByReason))}); outbound ${s.failedEgress}/${s.egressCalls}; termination mean ${s.terminationSeconds}s.</p>
${timelineSvg(run)}</section>`;
}

/**
 * What istio-proxy's /quitquitquit endpoints answered in a row, one line per distinct answer with its pod
 * count: "pilot-agent /quitquitquit answered 403 to a GET from 198.18.0.5 (not from localhost: nothing quit), in 2 of 2 pods".
 */
export function quitLines(s: ScenarioSummary): string[] {
  const why = (q: QuitRequest): string =>
    q.status === 200
      ? q.endpoint === 'pilot-agent'
        ? 'pilot-agent exited at once, no drain (Envoy SIGKILLed)'
        : 'Envoy exited at once, pilot-agent with it, no drain'
      : q.status === 403
        ? 'not from localhost: nothing quit'
        : q.status === 405
          ? 'not a POST: nothing quit'
          : 'nothing quit';
  const counts = new Map<string, number>();
  for (const p of s.pods) {
    for (const line of new Set(p.quitRequests.map((q) => `${q.endpoint} /quitquitquit answered ${q.status} to a ${q.method} from ${q.from} (${why(q)})`))) counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return [...counts].map(([line, n]) => `${line}, in ${n} of ${s.podsTerminated} pods`);
}

/**
 * A --manifest row's notes: what the lab could not run as written (an injection template it cannot
 * see, a rollout it capped...), which changes what the row's verdict means. The text report lists
 * them under the row's hooks; with --json they also go to stderr beside the answer line (qa7 F16).
 */
export function runNotes(s: ScenarioSummary): string[] {
  return [...(s.rollout?.notes ?? []), ...(s.notes ?? [])];
}
