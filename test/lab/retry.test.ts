/**
 * The client proxies' retry model (ADR 077): Istio's default policy from src/istio/facts.ts read the
 * way Envoy's router reads it — which of the lab's failure reasons a retry may resend, the back-off
 * bounds, and previous_hosts host selection.
 */
import { describe, expect, it } from 'vitest';
import { backoffMs, nextHost, retriable } from '../../src/lab/agent/retry.js';
import { ISTIO_DEFAULT_RETRY } from '../../src/istio/facts.js';

const policy = ISTIO_DEFAULT_RETRY;

describe("Istio's default retry policy as Envoy applies it", () => {
  it('retries connect failures, refused streams and gRPC UNAVAILABLE / CANCELLED', () => {
    for (const r of ['refused', 'refused-stream', 'grpc-UNAVAILABLE', 'grpc-CANCELLED']) expect(retriable(policy, r), r).toBe(true);
  });
  it('does not retry resets, timeouts, unprocessed-after-notice streams, other gRPC statuses, or a 503 (istio/istio#52111)', () => {
    for (const r of ['reset', 'timeout', 'goaway', 'grpc-INTERNAL', 'grpc-DEADLINE_EXCEEDED', '503', '502', 'no-endpoint']) expect(retriable(policy, r), r).toBe(false);
  });
  it('a 503 is retried when a policy lists it (Istio before 1.24: RetriableStatusCodes [503])', () => {
    expect(retriable({ ...policy, retriableStatusCodes: [503] }, '503')).toBe(true);
    expect(retriable({ ...policy, retriableStatusCodes: [503] }, '502')).toBe(false);
  });
  it('no policy: nothing is retried', () => {
    expect(retriable(undefined, 'refused')).toBe(false);
  });
  it("back-off: fully jittered below (2^n − 1) × 25 ms, capped at 250 ms", () => {
    expect(backoffMs(policy, 1, () => 0.999)).toBeLessThan(25);
    expect(backoffMs(policy, 2, () => 0.999)).toBeLessThan(75);
    expect(backoffMs(policy, 2, () => 0.999)).toBeGreaterThan(74);
    expect(backoffMs(policy, 6, () => 0.999)).toBeLessThan(250);
    expect(backoffMs(policy, 6, () => 0.999)).toBeGreaterThan(249);
    expect(backoffMs(policy, 1, () => 0)).toBe(0);
  });
  it('previous_hosts: a retry goes to a host not tried yet when one is selected within 5 selections', () => {
    const hosts = ['a', 'b', 'c'];
    let rr = 0;
    const select = () => hosts[rr++ % hosts.length];
    const tried = new Set(['a', 'b']);
    expect(nextHost(policy, select, (h) => tried.has(h))).toBe('c');
  });
  it('previous_hosts: when every selection is a previous host, the last selection is used', () => {
    let n = 0;
    const select = () => {
      n++;
      return 'a';
    };
    expect(nextHost(policy, select, (h) => h === 'a')).toBe('a');
    expect(n).toBe(5);
    expect(nextHost(policy, () => undefined, () => false)).toBeUndefined();
  });
});
