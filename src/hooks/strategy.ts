import { InputError } from '../errors.js';
import { parseDuration } from '../model/duration.js';
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
      return s;
    case 'ports':
      if (s.ports.length === 0 || !s.ports.every(validPort)) {
        throw new InputError(`ports: expected port numbers 1-65535, got ${JSON.stringify(s.ports)}`);
      }
      return s;
    case 'http': {
      const m = SAFE_URL.exec(s.url);
      if (!m || (m[3] !== undefined && !validPort(Number(m[3])))) {
        throw new InputError(`http: expected a URL like http://127.0.0.1:8080/healthz (no quotes, spaces or shell characters), got ${JSON.stringify(s.url)}`);
      }
      return s;
    }
    case 'file':
      if (!SAFE_PATH.test(s.path) || s.path.split('/').includes('..')) {
        throw new InputError(`file: expected an absolute path of letters, digits and ._-/, got ${JSON.stringify(s.path)}`);
      }
      return s;
    case 'sleep':
      if (!(s.ms >= 0)) throw new InputError(`sleep: expected a duration, got ${s.ms}`);
      return s;
  }
}

/** Parse the `--wait-for` / annotation syntax: app-listeners | ports=8080,9090 | http=URL | file=/p | sleep=10s */
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
      if (arg !== undefined) throw new InputError('wait strategy app-listeners takes no value');
      return { kind: 'app-listeners' };
    case 'ports':
      return checkStrategy({ kind: 'ports', ports: need().split(',').map((p) => (/^\d+$/.test(p.trim()) ? Number(p) : NaN)) });
    case 'http':
      return checkStrategy({ kind: 'http', url: need() });
    case 'file':
      return checkStrategy({ kind: 'file', path: need() });
    case 'sleep':
      return checkStrategy({ kind: 'sleep', ms: parseDuration(need(), 'sleep') });
    default:
      throw new InputError(`unknown wait strategy ${JSON.stringify(name)}: expected app-listeners, ports=8080,9090, http=URL, file=/path or sleep=10s`);
  }
}

/** The inverse of parseStrategy, for annotations and logs. */
export function formatStrategy(s: WaitStrategy): string {
  switch (s.kind) {
    case 'app-listeners':
      return 'app-listeners';
    case 'ports':
      return `ports=${s.ports.join(',')}`;
    case 'http':
      return `http=${s.url}`;
    case 'file':
      return `file=${s.path}`;
    case 'sleep':
      return `sleep=${s.ms}ms`;
  }
}
