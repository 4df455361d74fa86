/**
 * --protocol http2 for real: the app serves h2c, the pod's Envoy forwards h2c and drains with GOAWAY,
 * the client-side proxy (the balancer) speaks h2c to the pod. no-hold loses requests and outbound
 * calls when the proxy exits under the app; meshdrain loses nothing.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { LabNet } from '../../src/lab/netns.js';
import { answerLine, summarize, type ScenarioSummary } from '../../src/lab/report.js';
import { DEFAULT_LAB_OPTIONS, runLab, type LabOptions } from '../../src/lab/run.js';

const required = process.env.MESHDRAIN_REQUIRE_ROOT_TESTS === '1';
const root = (() => {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root for ip netns and iptables' };
  for (const tool of ['ip', 'iptables-restore', 'setpriv', 'unshare', 'chroot']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return { ok: false, reason: `${tool} missing` };
  }
  return { ok: true, reason: '' };
})();

describe.runIf(!root.ok && required)('lab --protocol (required)', () => {
  it('has root and the tools', () => {
    throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but ${root.reason}`);
  });
});

describe.skipIf(!root.ok)('meshdrain lab --protocol http2 on real namespaces', () => {
  let prefix = '';
  let sums: Record<string, ScenarioSummary> = {};
  beforeAll(async () => {
    const o: LabOptions = {
      ...DEFAULT_LAB_OPTIONS,
      scenarios: ['no-hold', 'meshdrain'],
      protocols: ['http2'],
      replicas: 2,
      minRequests: 5000,
      minRequestsFor: ['meshdrain'],
      durationMs: 0,
      warmupMs: 1000,
      onPrefix: (p) => (prefix = p),
    };
    const runs = await runLab(o);
    sums = Object.fromEntries(runs.map((r) => [r.scenario.name, summarize(r, o)]));
  }, 300_000);

  it('rows say http2', () => {
    expect(sums['no-hold']!.protocol).toBe('http2');
    expect(sums.meshdrain!.protocol).toBe('http2');
  });
  it('no-hold: the proxy exits under the app, streams and outbound calls fail', () => {
    const s = sums['no-hold']!;
    expect(s.failedEgress, answerLine(s)).toBeGreaterThan(0);
    expect(s.failedRequests, answerLine(s)).toBeGreaterThan(0);
  });
  it('meshdrain: zero failed outbound calls and no SIGKILL over ≥ 5,000 requests', () => {
    const s = sums.meshdrain!;
    expect(s.requests).toBeGreaterThanOrEqual(5000);
    expect(s.failedEgress, answerLine(s)).toBe(0);
    expect(s.podsKilled).toBe(0);
  });
  /**
   * KNOWN GAP, pinned: since the hold really asks for the drain at start (ADR 071 addendum; before,
   * the hooks' root had no pilot-agent and the drain silently ran after the hold), Envoy's h2 drain
   * runs while the endpoint is still routed, and ~180 of ~35,000 streams race the final GOAWAY
   * (mostly refused-stream, a few resets). Istio's default retry policy resends refused streams; the
   * lab models no retries (ADR 074). Turns red once meshdrain's h2 row loses nothing: then make this a
   * plain `it`.
   */
  it.fails('KNOWN GAP: meshdrain over http2 loses no stream', () => {
    const s = sums.meshdrain!;
    expect(s.failedRequests, answerLine(s)).toBe(0);
  });
  it('leaves no namespace behind', async () => {
    expect(await LabNet.leftovers(prefix)).toEqual([]);
  });
});

describe.skipIf(!root.ok)('meshdrain lab with skewed removal: three client proxies and a kube-proxy client', () => {
  let sums: Record<string, ScenarioSummary> = {};
  beforeAll(async () => {
    const o: LabOptions = {
      ...DEFAULT_LAB_OPTIONS,
      scenarios: ['no-hold'],
      clients: ['mesh', 'mesh', 'mesh', 'kube-proxy'],
      replicas: 2,
      minRequests: 0,
      durationMs: 0,
      warmupMs: 1000,
    };
    const runs = await runLab(o);
    sums = Object.fromEntries(runs.map((r) => [r.scenario.name, summarize(r, o)]));
  }, 300_000);

  it("each pod's own proxy learns of its removal at its own time inside the window; the last client at the delay", () => {
    const s = sums['no-hold']!;
    for (const p of s.pods) {
      expect(p.ownRemovalAt).not.toBeNull();
      expect(p.ownRemovalAt!).toBeGreaterThan(0);
      expect(p.ownRemovalAt!).toBeLessThanOrEqual(6.5);
      expect(p.endpointRemovedAt!).toBeGreaterThanOrEqual(5.9);
    }
  });
  it('no-hold still shows its failures with several clients', () => {
    const s = sums['no-hold']!;
    expect(s.failedEgress, answerLine(s)).toBeGreaterThan(0);
    expect(s.requests).toBeGreaterThan(0);
  });
});
