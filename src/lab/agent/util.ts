/** Helpers every role of the lab agent shares: event lines on stdout, stdin lifetime, HTTP. */
import http from 'node:http';
import { createInterface } from 'node:readline';

export const now = (): number => Date.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One JSON line on stdout (the lab reads these); a closed stdout means the lab is gone. */
export function out(o: object): void {
  try {
    process.stdout.write(JSON.stringify(o) + '\n');
  } catch {
    /* lab gone */
  }
}

export function ev(name: string, extra: Record<string, unknown> = {}): void {
  out({ ev: name, t: now(), ...extra });
}

/** Read stdin line by line; exit when it closes, so a crashed lab leaves no orphans. */
export function stdinLines(onLine?: (line: string) => void): void {
  const rl = createInterface({ input: process.stdin });
  if (onLine) rl.on('line', onLine);
  rl.on('close', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}

/** stdinLines for the JSON command channel: one command per line; a line that is not JSON is ignored. */
export function stdinCommands<T>(onCommand: (m: T) => void): void {
  stdinLines((line) => {
    let m: T;
    try {
      m = JSON.parse(line) as T;
    } catch {
      return;
    }
    onCommand(m);
  });
}

/** What a failed connection was, in the lab's words. */
export function reasonOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  const c = err?.code;
  if (c === 'ECONNREFUSED') return 'refused';
  if (c === 'ETIMEDOUT' || c === 'ESOCKETTIMEDOUT') return 'timeout';
  if (c === 'ECONNRESET' || c === 'EPIPE' || /socket hang up/.test(String(err?.message))) return 'reset';
  return c ? String(c).toLowerCase() : 'error';
}

export function timeoutError(): NodeJS.ErrnoException {
  return Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' });
}

export function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

export type Reply = { status: number; headers: http.IncomingHttpHeaders; text: string; error?: undefined } | { error: Error };

/** One HTTP request that never rejects: the reply, or the error. */
export function request(opts: http.RequestOptions, body?: string): Promise<Reply> {
  return new Promise((resolve) => {
    const req = http.request(opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', (e) => resolve({ error: e }));
    });
    req.on('error', (e) => resolve({ error: e }));
    if (opts.timeout) req.setTimeout(opts.timeout, () => req.destroy(timeoutError()));
    req.end(body);
  });
}

/** Headers without the hop-by-hop ones a proxy must not forward. */
export function stripHop(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const c: http.OutgoingHttpHeaders = { ...h };
  for (const k of ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection']) delete c[k];
  return c;
}
