/**
 * --protocol grpc for real (ADR 076): the app is a grpc-js server, both proxies forward h2 streams
 * (messages and grpc-status trailers), the pod's Envoy drains with GOAWAY, the load is a grpc-js
 * channel with unary callers and Watch streams. no-hold loses calls and outbound calls when the
 * proxy exits under the app; meshdrain loses no call and no outbound call, kills no pod and its Watch
 * streams end only by the app's own clean close.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { LabNet } from '../../src/lab/netns.js';
import { answerLine, type ScenarioSummary } from '../../src/lab/report.js';
import { expectAppWaitRanToBound, labRoot, longLivedTestPolicy, requireLabRoot, runAndSummarize } from './fixture.js';

const root = labRoot(['ip', 'iptables-restore', 'setpriv', 'unshare', 'chroot']);
requireLabRoot('lab --protocol grpc', root);

describe.skipIf(!root.ok)('meshdrain lab --protocol grpc on real namespaces', () => {
  let prefix = '';
  let sums: Record<string, ScenarioSummary> = {};
  beforeAll(async () => {
    ({ sums, prefix } = await runAndSummarize({ scenarios: ['no-hold', 'meshdrain'], protocols: ['grpc'], replicas: 2, minRequests: 5000, minRequestsFor: ['meshdrain'], durationMs: 0, warmupMs: 1000, policy: longLivedTestPolicy() }));
  }, 300_000);

  it('rows say grpc', () => {
    expect(sums['no-hold']!.protocol).toBe('grpc');
    expect(sums.meshdrain!.protocol).toBe('grpc');
  });
  it('no-hold: the proxy exits under the app; calls end in a status other than OK, outbound calls fail', () => {
    const s = sums['no-hold']!;
    expect(s.failedEgress, answerLine(s)).toBeGreaterThan(0);
    expect(s.failedRequests, answerLine(s)).toBeGreaterThan(0);
    // Counted by the grpc-js client by status name (UNAVAILABLE, stream INTERNAL, ...), never as OK.
    expect(Object.keys(s.failureReasons).every((k) => /^(stream )?[A-Z_]+$/.test(k)), JSON.stringify(s.failureReasons)).toBe(true);
  });
  it('meshdrain: zero failed calls and outbound calls, no SIGKILL, no Watch stream cut, over ≥ 5,000 calls (ADR 078)', () => {
    const s = sums.meshdrain!;
    expect(s.requests).toBeGreaterThanOrEqual(5000);
    expect(s.failedRequests, `${answerLine(s)}; retried ${JSON.stringify(s.clientRetries)}`).toBe(0);
    expect(s.failedEgress, answerLine(s)).toBe(0);
    expect(s.podsKilled).toBe(0);
    expect(Object.keys(s.failureReasons).filter((k) => k.startsWith('stream ')), JSON.stringify(s.failureReasons)).toEqual([]);
  });
  it("meshdrain: a pod that still carries a Watch stream waits the app's whole bound before SIGTERM, and the answer says so (ADR 076 addendum)", () => {
    expectAppWaitRanToBound(sums.meshdrain!);
  });
  it('leaves no namespace behind', async () => {
    expect(await LabNet.leftovers(prefix)).toEqual([]);
  });
});
