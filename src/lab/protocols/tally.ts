/** What a protocol's load client counts: requests, failed ones by reason, and (WebSocket) cut connections. */
export interface ProtocolTally {
  requests: number;
  failed: number;
  reasons: Record<string, number>;
  /** WebSocket: connections cut before the app closed them (each also counted in failed). */
  cut?: number;
}

export function newTally(): ProtocolTally {
  return { requests: 0, failed: 0, reasons: {} };
}

/** Count one failure under a reason. */
export function fail(t: ProtocolTally, reason: string): void {
  t.failed++;
  t.reasons[reason] = (t.reasons[reason] ?? 0) + 1;
}

export interface LoadTarget {
  host: string;
  port: number;
}

/** A bounded load loop: runs until stop() or maxMs, whichever comes first. */
export interface ProtocolLoad {
  stop(): Promise<ProtocolTally>;
}
