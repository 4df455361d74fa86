/**
 * Envoy's router retries, as a client-side proxy applies a route's retry policy (ADR 077): which
 * failed attempt may be retried (retry_on), the fully jittered back-off, and the next host with the
 * previous_hosts predicate. The lab's failure reasons map onto Envoy's retry conditions:
 * `refused` (the TCP connect was refused) is connect-failure; `refused-stream` is an h2 stream the
 * server refused or left unprocessed by its GOAWAY (nghttp2 closes those with REFUSED_STREAM);
 * `grpc-UNAVAILABLE` / `grpc-CANCELLED` are the gRPC statuses `unavailable` / `cancelled` look at; a
 * plain number is an HTTP status, retried only when listed in retriableStatusCodes.
 */
import type { RetryPolicy } from './config.js';
import { sleep } from './util.js';

/** May an attempt that failed for `reason` be retried under `policy`? */
export function retriable(policy: RetryPolicy | undefined, reason: string): boolean {
  if (!policy) return false;
  const on = (c: string) => policy.retryOn.includes(c);
  if (reason === 'refused') return on('connect-failure');
  if (reason === 'refused-stream') return on('refused-stream');
  if (reason === 'grpc-UNAVAILABLE') return on('unavailable');
  if (reason === 'grpc-CANCELLED') return on('cancelled');
  if (/^\d{3}$/.test(reason)) return on('retriable-status-codes') && policy.retriableStatusCodes.includes(Number(reason));
  return false;
}

/** Envoy's back-off before retry n (1-based): random in [0, (2^n − 1) × base), capped at max. */
export function backoffMs(policy: RetryPolicy, n: number, random: () => number = Math.random): number {
  return random() * Math.min(policy.backoffMaxMs, (2 ** n - 1) * policy.backoffBaseMs);
}

export function backoff(policy: RetryPolicy, n: number): Promise<void> {
  return sleep(backoffMs(policy, n));
}

/**
 * The host for a retry: previous_hosts rejects a host already tried, and Envoy selects again up to
 * hostSelectionRetryMaxAttempts times; if every selection was a previous host, the last one is used.
 */
export function nextHost<T>(policy: RetryPolicy, select: () => T | undefined, tried: (t: T) => boolean): T | undefined {
  let pick: T | undefined;
  for (let i = 0; i < Math.max(1, policy.hostSelectionRetryMaxAttempts); i++) {
    pick = select();
    if (pick === undefined || !tried(pick)) return pick;
  }
  return pick;
}
