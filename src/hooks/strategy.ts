import { InputError } from '../errors.js';
import { formatDuration, parseDuration } from '../model/duration.js';
import type { WaitStrategy } from '../plan/types.js';

const SAFE_PATH = /^\/[A-Za-z0-9._\/-]*$/;
// A URL the hook can probe with a plain TCP client: http, an IP or hostname, optional port and path.
const SAFE_URL = /^http:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:(\d{1,5}))?(\/[A-Za-z0-9._~\/%?&=+-]*)?$/;

export function validPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** Validate a strategy from any source (CLI, policy, annotation). Throws InputError. */
export function checkStrategy(s: WaitStrategy): WaitStrategy {
  switch (s.kind) {
    case 'app-listeners':
    case 'app-connections':
      return s;
    case 'ports':
      if (!Array.isArray(s.ports) || s.ports.length === 0 || !s.ports.every(validPort)) {
        throw new InputError(`ports: expected port numbers 1-65535, got ${JSON.stringify(s.ports)}`);
      }
      return s;
    case 'http': {
      const m = typeof s.url === 'string' ? SAFE_URL.exec(s.url) : null;
      if (!m || (m[3] !== undefined && !validPort(Number(m[3])))) {
        throw new InputError(`http: expected a URL like http://127.0.0.1:8080/healthz (no quotes, spaces or shell characters), got ${JSON.stringify(s.url)}`);
      }
      return s;
    }
    case 'file':
      if (typeof s.path !== 'string' || !SAFE_PATH.test(s.path) || s.path.split('/').includes('..')) {
        throw new InputError(`file: expected an absolute path of letters, digits and ._-/, got ${JSON.stringify(s.path)}`);
      }
      return s;
    case 'sleep':
      if (!(Number.isSafeInteger(s.ms) && s.ms >= 0)) throw new InputError(`sleep: expected a whole number of milliseconds >= 0, got ${s.ms}`);
      return s;
    default:
      throw new InputError(`unknown wait strategy kind ${JSON.stringify((s as { kind?: unknown }).kind)}`);
  }
}

/** Parse the `--wait-for` / annotation syntax: app-listeners | app-connections | ports=8080,9090 | http=URL | file=/p | sleep=10s */
export function parseStrategy(text: string): WaitStrategy {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  const arg = eq < 0 ? undefined : text.slice(eq + 1);
  const need = (): string => {
    if (arg === undefined || arg === '') throw new InputError(`wait strategy ${JSON.stringify(name)} needs a value: ${name}=...`);
    return arg;
  };
  switch (name) {
    case 'app-listeners':
      if (arg !== undefined) throw new InputError(`wait strategy app-listeners takes no value, got ${JSON.stringify(text)}`);
      return { kind: 'app-listeners' };
    case 'app-connections':
      if (arg !== undefined) throw new InputError(`wait strategy app-connections takes no value, got ${JSON.stringify(text)}`);
      return { kind: 'app-connections' };
    case 'ports': {
      // Checked as typed, so the error shows what was given ("80;rm -rf /"), not what a number parse made of it.
      const raw = need();
      const parts = raw.split(',').map((p) => p.trim());
      if (!parts.every((p) => /^\d{1,5}$/.test(p) && validPort(Number(p)))) {
        throw new InputError(`ports: expected port numbers 1-65535 separated by commas (ports=8080,9090), got ${JSON.stringify(raw)}`);
      }
      return checkStrategy({ kind: 'ports', ports: parts.map(Number) });
    }
    case 'http':
      return checkStrategy({ kind: 'http', url: need() });
    case 'file':
      return checkStrategy({ kind: 'file', path: need() });
    case 'sleep':
      return checkStrategy({ kind: 'sleep', ms: parseDuration(need(), 'sleep') });
    default:
      throw new InputError(`unknown wait strategy ${JSON.stringify(name)}: expected app-listeners, app-connections, ports=8080,9090, http=URL, file=/path or sleep=10s`);
  }
}

/** The inverse of parseStrategy, for annotations and logs. */
export function formatStrategy(s: WaitStrategy): string {
  switch (s.kind) {
    case 'app-listeners':
    case 'app-connections':
      return s.kind;
    case 'ports':
      return `ports=${s.ports.join(',')}`;
    case 'http':
      return `http=${s.url}`;
    case 'file':
      return `file=${s.path}`;
    case 'sleep':
      return `sleep=${formatDuration(s.ms)}`;
  }
}

/** Where an http strategy's URL points: host as written (brackets kept for IPv6), port (default 80). */
export function httpTarget(url: string): { host: string; port: number; loopback: boolean } {
  const m = SAFE_URL.exec(url);
  if (!m) throw new InputError(`http: not a URL meshdrain can probe: ${JSON.stringify(url)}`);
  const host = m[1] as string;
  const port = m[3] !== undefined ? Number(m[3]) : 80;
  const loopback = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|\[0*:(0*:){0,6}0*1\])$/i.test(host);
  return { host, port, loopback };
}
