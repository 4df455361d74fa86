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

/** Format milliseconds the way a person writes them: 200ms, 1.5s, 10s, 1m30s, 2h, 1h30m. */
export function formatDuration(ms: number): string {
  if (ms < 1000 && ms % 1000 !== 0) return `${ms}ms`;
  if (ms % 1000 !== 0) return `${(ms / 1000).toFixed(3).replace(/0+$/, '')}s`;
  const total = ms / 1000;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec ? `${sec}s` : ''}`;
  return out || '0s';
}
