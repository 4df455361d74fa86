import { InputError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * Parse a Go/Kubernetes-style duration ("200ms", "10s", "1m30s") or a bare number of seconds.
 * Returns milliseconds. Throws InputError on anything else.
 */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new InputError(`${what}: expected a non-negative number of seconds, got ${text}`);
    return Math.round(text * 1000);
  }
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (!m) break;
    total += Number(m[1]) * UNIT_MS[m[2] as string]!;
    matched = PART.lastIndex;
  }
  if (s.length === 0 || matched !== s.length) {
    throw new InputError(`${what}: expected a duration like 200ms, 10s or 1m30s, got ${JSON.stringify(text)}`);
  }
  return Math.round(total);
}

/** Format milliseconds the way a person writes them: 200ms, 10s, 1m30s. */
export function formatDuration(ms: number): string {
  if (ms < 1000 && ms % 1000 !== 0) return `${ms}ms`;
  if (ms % 1000 !== 0) return `${(ms / 1000).toFixed(3).replace(/0+$/, '')}s`;
  const sec = ms / 1000;
  if (sec < 60 || sec % 60 !== 0) return sec >= 60 ? `${Math.floor(sec / 60)}m${sec % 60}s` : `${sec}s`;
  return `${sec / 60}m`;
}
