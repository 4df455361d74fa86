/**
 * --protocol http2 for real: the app serves h2c, the pod's Envoy forwards h2c and drains with GOAWAY,
 * the client-side proxy (the balancer) speaks h2c to the pod with Istio's default retry policy
 * (ADR 077). no-hold loses requests and outbound calls when the proxy exits under the app; meshdrain
 * loses nothing (ADR 078).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { LabNet } from '../../src/lab/netns.js';
import { answerLine, type ScenarioSummary } from '../../src/lab/report.js';
import { labRoot, requireLabRoot, runAndSummarize } from './fixture.js';

const root = labRoot(['ip', 'iptables-restore', 'setpriv', 'unshare', 'chroot']);
requireLabRoot('lab --protocol', root);

describe.skipIf(!root.ok)('meshdrain lab --protocol http2 on real namespaces', () => {
  let prefix = '';
  let sums: Record<string, ScenarioSummary> = {};
  beforeAll(async () => {
    ({ sums, prefix } = await runAndSummarize({ scenarios: ['no-hold', 'meshdrain'], protocols: ['http2'], replicas: 2, minRequests: 5000, minRequestsFor: ['meshdrain'], durationMs: 0, warmupMs: 1000 }));
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
   * The hold asks for the drain at start (ADR 071 addendum), so Envoy's h2 drain runs while the
   * endpoint is still routed and streams race the final GOAWAY (refused-stream). A mesh client's
   * Envoy resends those under Istio's default retry policy (ADR 077). The last streams that failed
   * (~5 per run, `reset`) were the lab's own: its client closed a removed host's session while it was
   * still connecting, and Node then fails the streams queued on it, which Envoy's drained pool serves
   * (ADR 078). With that mended the done-when holds: no stream fails.
   */
  it('meshdrain over http2: zero failed streams (the GOAWAY race is retried, a removed host serves what it was given)', () => {
    const s = sums.meshdrain!;
    expect(s.clientRetries.policy).toBe('istio-default');
    expect(s.failedRequests, `${answerLine(s)}; retried ${JSON.stringify(s.clientRetries)}`).toBe(0);
  });
  it('leaves no namespace behind', async () => {
    expect(await LabNet.leftovers(prefix)).toEqual([]);
  });
});

describe.skipIf(!root.ok)('meshdrain lab with skewed removal: three client proxies and a kube-proxy client', () => {
  let sums: Record<string, ScenarioSummary> = {};
  beforeAll(async () => {
    ({ sums } = await runAndSummarize({ scenarios: ['no-hold'], clients: ['mesh', 'mesh', 'mesh', 'kube-proxy'], replicas: 2, minRequests: 0, durationMs: 0, warmupMs: 1000 }));
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
