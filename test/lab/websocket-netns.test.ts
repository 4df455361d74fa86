/**
 * --protocol websocket for real (ADR 076): the app echoes over `ws`, both proxies tunnel the
 * HTTP/1.1 upgrade, Envoy's drain leaves the tunnel alone, the load keeps long-lived connections and
 * counts each message as a request. no-hold cuts connections when the proxy exits under the app;
 * meshdrain cuts none (the app closes them first) and loses no message.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { LabNet } from '../../src/lab/netns.js';
import { answerLine, type ScenarioSummary } from '../../src/lab/report.js';
import { expectAppWaitRanToBound, labRoot, longLivedTestPolicy, requireLabRoot, runAndSummarize } from './fixture.js';

const root = labRoot(['ip', 'iptables-restore', 'setpriv', 'unshare', 'chroot']);
requireLabRoot('lab --protocol websocket', root);

describe.skipIf(!root.ok)('meshdrain lab --protocol websocket on real namespaces', () => {
  let prefix = '';
  let sums: Record<string, ScenarioSummary> = {};
  beforeAll(async () => {
    ({ sums, prefix } = await runAndSummarize({ scenarios: ['no-hold', 'meshdrain'], protocols: ['websocket'], replicas: 2, minRequests: 5000, minRequestsFor: ['meshdrain'], durationMs: 0, warmupMs: 1000, policy: longLivedTestPolicy() }));
  }, 300_000);

  it('no-hold: connections are cut before the app closed them, messages go unanswered, outbound calls fail', () => {
    const s = sums['no-hold']!;
    expect(s.protocol).toBe('websocket');
    expect(s.failedEgress, answerLine(s)).toBeGreaterThan(0);
    expect(s.cutConnections, answerLine(s)).toBeGreaterThan(0);
    expect(s.failedRequests).toBeGreaterThanOrEqual(s.cutConnections!);
    // Each cut is attributed to the pod whose proxy cut it, once that proxy had gone.
    expect(s.failedByPhase['no-endpoint'] ?? 0, JSON.stringify(s.failedByPhase)).toBe(0);
  });
  it('meshdrain: no connection cut, no message lost, no outbound call failed, no SIGKILL, over ≥ 5,000 messages', () => {
    const s = sums.meshdrain!;
    expect(s.requests).toBeGreaterThanOrEqual(5000);
    expect(s.cutConnections).toBe(0);
    expect(s.failedRequests, answerLine(s)).toBe(0);
    expect(s.failedEgress).toBe(0);
    expect(s.podsKilled).toBe(0);
  });
  it("meshdrain: a pod that still carries a WebSocket waits the app's whole bound before SIGTERM, and the answer says so (ADR 076 addendum)", () => {
    expectAppWaitRanToBound(sums.meshdrain!);
  });
  it('leaves no namespace behind', async () => {
    expect(await LabNet.leftovers(prefix)).toEqual([]);
  });
});
