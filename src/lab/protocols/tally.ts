/** What a protocol's load client counts: requests, failed ones by reason, and (WebSocket) cut connections. */
export interface ProtocolTally {
  requests: number;
  failed: number;
  reasons: Record<string, number>;
  /** WebSocket: connections cut before the app closed them (each also counted in failed). */
  cut?: number;
  /**
   * With `bucketMs` set (newTally(bucketMs)): answered and failed requests per bucket, and each
   * failure with its time and the pod that served it (when known) — the load's own timeline, for a
   * protocol whose client proxy sees connections rather than requests (WebSocket).
   */
  bucketMs?: number;
  buckets?: Record<string, [number, number]>;
  failures?: { t: number; reason: string; pod: string }[];
}

export function newTally(bucketMs?: number): ProtocolTally {
  return { requests: 0, failed: 0, reasons: {}, ...(bucketMs ? { bucketMs, buckets: {}, failures: [] } : {}) };
}

function bucket(t: ProtocolTally, at: number): [number, number] | undefined {
  if (!t.buckets || !t.bucketMs) return undefined;
  return (t.buckets[String(Math.floor(at / t.bucketMs))] ??= [0, 0]);
}

/** Count one answered request (only the timeline needs it; `requests` is counted when sent). */
export function succeed(t: ProtocolTally, at = Date.now()): void {
  const b = bucket(t, at);
  if (b) b[0]++;
}

/** Count one failure under a reason (and, with a timeline, when and on which pod). */
export function fail(t: ProtocolTally, reason: string, pod = '', at = Date.now()): void {
  t.failed++;
  t.reasons[reason] = (t.reasons[reason] ?? 0) + 1;
  const b = bucket(t, at);
  if (b) b[1]++;
  if (t.failures && t.failures.length < 20_000) t.failures.push({ t: at, reason, pod });
}

export interface LoadTarget {
  host: string;
  port: number;
}

/** A bounded load loop: runs until stop() or maxMs, whichever comes first. */
export interface ProtocolLoad {
  stop(): Promise<ProtocolTally>;
  /** Requests sent so far. */
  count(): number;
}
