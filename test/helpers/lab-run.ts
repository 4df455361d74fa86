/**
 * A lab run without a lab: one terminated pod's timeline (ready, terminating, endpoint removal,
 * SIGTERMs, exits, 80 outbound calls every 100 ms) and the new pods, as report.ts reads a real
 * ScenarioRun. The timings are parameters (ms from the run's start); the unit tests of the verdicts,
 * the answer line and the output formats build their runs with it.
 */
import { LabPod, type PreStopResult } from '../../src/lab/kubelet.js';
import { podIp } from '../../src/lab/netns.js';
import type { ScenarioRun } from '../../src/lab/run.js';
import type { Scenario } from '../../src/lab/scenarios.js';

export const FAKE_T0 = 1_000_000;

export interface FakeTimeline {
  appSigterm: number;
  appExit: number;
  proxySigterm: number;
  proxyExit: number;
  /** SIGKILL at the grace period (absent: not killed). */
  killed?: number;
}

export interface FakeRunOptions {
  timeline: FakeTimeline;
  /** Failed outbound calls of the 80, the first ones or the last ones. */
  failedEgress?: number;
  failedEgressAt?: 'first' | 'last';
  /** Failed requests (all `refused`, in the terminating pod at 7.5 s). */
  failed?: number;
  requests: number;
  /** New pods created by the rollout, and when the first became ready (absent: not marked ready). */
  created: number;
  createdReadyAt?: number;
  preStop?: PreStopResult;
  /** One timeline bucket at the start holding the failures. */
  bucket?: boolean;
}

export function fakeTerminatedRun(scenario: Scenario, o: FakeRunOptions): ScenarioRun {
  const t0 = FAKE_T0;
  const mk = (n: number, v: number) => new LabPod(n, `lab-app-v${v}-${n}`, `x-p${n}`, podIp(n), v, t0);
  const old = mk(1, 1);
  const tl = o.timeline;
  old.readyAt = t0 + 500;
  old.terminatingAt = t0 + 2000;
  old.endpointRemovedAt = t0 + 8000;
  old.appSigtermAt = t0 + tl.appSigterm;
  old.appExitAt = t0 + tl.appExit;
  old.proxySigtermAt = t0 + tl.proxySigterm;
  old.proxyExitAt = t0 + tl.proxyExit;
  if (tl.killed !== undefined) old.killedAt = t0 + tl.killed;
  old.goneAt = t0 + 16_000;
  if (o.preStop) old.preStops.push(o.preStop);
  const nFailed = o.failedEgress ?? 0;
  for (let i = 0; i < 80; i++) {
    const bad = o.failedEgressAt === 'last' ? i >= 80 - nFailed : i < nFailed;
    old.egress.push({ t: t0 + tl.appSigterm + i * 100, ok: !bad, reason: bad ? 'refused' : '', close: false });
  }
  const created = Array.from({ length: o.created }, (_, i) => mk(2 + i, 2));
  if (o.createdReadyAt !== undefined && created[0]) created[0].readyAt = t0 + o.createdReadyAt;
  const failed = o.failed ?? 0;
  return {
    scenario,
    startedAt: t0,
    rolloutStartedAt: t0 + 1500,
    rolloutDoneAt: t0 + 2000,
    endedAt: t0 + 17_000,
    terminated: [old],
    created,
    load: { kind: 'builtin', requests: o.requests, failed, reasons: failed ? { refused: failed } : {} },
    balancer: { requests: o.requests, failed, reasons: {}, buckets: o.bucket ? { [String(t0 / 250)]: [100, failed] } : {}, failures: Array.from({ length: failed }, () => ({ t: t0 + 7500, reason: 'refused', pod: old.name })) },
    bucketMs: 250,
    propagationDelayMs: 6000,
  };
}
