/**
 * HTTP/2 cleartext (h2c) in the lab, modelled on Envoy (ADR 072): on drain Envoy's connection manager
 * calls the codec's shutdownNotice() — a GOAWAY with the largest stream id, so in-flight and racing
 * streams still complete — and after the drain timeout goAway() with the last stream it processed
 * (envoy source/common/http/conn_manager_impl.cc startDrainSequence / onDrainTimeout). With
 * `--drain-strategy immediate` every connection starts this at once. A stream the server never
 * processed (id above the final GOAWAY's last-stream-id, or refused) fails unless the client retries it.
 */
import http2 from 'node:http2';
import { fail, newTally, type LoadTarget, type ProtocolLoad, type ProtocolTally } from './tally.js';

const MAX_STREAM_ID = 2 ** 31 - 1;

/** Envoy's drain on one HTTP/2 session: shutdownNotice now, the final GOAWAY after drainTimeoutMs. */
export function drainSession(session: http2.Http2Session, drainTimeoutMs: number): void {
  if (session.closed || session.destroyed) return;
  session.goaway(http2.constants.NGHTTP2_NO_ERROR, MAX_STREAM_ID);
  const t = setTimeout(() => {
    // The final GOAWAY names the last stream the server processed (nghttp2's last_proc_stream_id).
    if (!session.closed && !session.destroyed) session.goaway(http2.constants.NGHTTP2_NO_ERROR, session.state.lastProcStreamID ?? 0);
  }, drainTimeoutMs);
  t.unref();
}

/** An h2c server answering every stream 200 "ok" (the lab app's HTTP/2 face). */
export function startH2Server(host: string, port: number, onStream?: (s: http2.ServerHttp2Stream) => boolean): Promise<http2.Http2Server> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    if (onStream?.(stream)) return;
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('ok');
  });
  server.on('sessionError', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export interface H2LoadOptions {
  concurrency: number;
  maxMs: number;
  /** Retry a stream the server never processed (REFUSED_STREAM / above the GOAWAY's last id) once. */
  retryUnprocessed?: boolean;
}

/**
 * The built-in HTTP/2 client: `concurrency` streams in flight on one session; after a GOAWAY the next
 * streams go on a new session (what a well-behaved client does). A response other than 200, a reset or
 * an unprocessed stream without retry counts as failed.
 */
export function startH2Load(target: LoadTarget, o: H2LoadOptions): ProtocolLoad {
  const tally = newTally();
  const url = `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  let session: http2.ClientHttp2Session | undefined;
  let stopped = false;
  const until = Date.now() + o.maxMs;
  const current = (): http2.ClientHttp2Session => {
    if (!session || session.closed || session.destroyed || (session as unknown as { goawayed?: boolean }).goawayed) {
      const s = http2.connect(url);
      s.on('error', () => undefined);
      s.on('goaway', () => ((s as unknown as { goawayed?: boolean }).goawayed = true));
      session = s;
    }
    return session;
  };
  const one = (retry: boolean): Promise<void> =>
    new Promise((resolve) => {
      let s: http2.ClientHttp2Session;
      try {
        s = current();
      } catch {
        fail(tally, 'connect');
        return resolve();
      }
      const req = s.request({ ':path': '/', ':method': 'GET' });
      let status = 0;
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', () => undefined);
      req.on('error', () => undefined);
      req.on('close', () => {
        const code = req.rstCode;
        if (status === 200 && code === http2.constants.NGHTTP2_NO_ERROR) {
          tally.requests++;
          return resolve();
        }
        const unprocessed = status === 0 && (code === http2.constants.NGHTTP2_REFUSED_STREAM || s.destroyed || (s as unknown as { goawayed?: boolean }).goawayed === true);
        if (unprocessed && retry && o.retryUnprocessed) {
          void one(false).then(resolve);
          return;
        }
        tally.requests++;
        fail(tally, status ? String(status) : unprocessed ? 'unprocessed' : `reset-${code}`);
        resolve();
      });
      req.end();
    });
  const worker = async () => {
    while (!stopped && Date.now() < until) {
      await one(true);
      if (tally.failed && !session) await new Promise((r) => setTimeout(r, 10));
    }
  };
  const workers = Array.from({ length: o.concurrency }, worker);
  return {
    count: () => tally.requests,
    async stop(): Promise<ProtocolTally> {
      stopped = true;
      await Promise.all(workers);
      session?.close();
      return tally;
    },
  };
}

/** Debian's h2load (nghttp2-client): argv for a timed run with `clients` connections. */
export function h2loadArgv(url: string, clients: number, streams: number, durationSeconds: number): string[] {
  return ['h2load', '-c', String(clients), '-m', String(streams), '-D', String(durationSeconds), url];
}

/**
 * Parse h2load's summary (`requests: N total, N started, N done, N succeeded, N failed, N errored,
 * N timeout` and `status codes: …`). A timed run (-D) stops with requests in flight: those are started
 * but not done, and are not failures. Done requests count; h2load's failed ones (errored and timed out
 * included) fail, and so do 4xx/5xx responses, which h2load counts as succeeded.
 */
export function parseH2loadReport(text: string): ProtocolTally {
  const m = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  if (!m) throw new Error(`h2load printed no summary: ${text.trim().split('\n').slice(-2).join(' / ')}`);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const t = newTally();
  t.requests = Number(m[3]);
  const add = (reason: string, n: number) => {
    if (n > 0) {
      t.failed += n;
      t.reasons[reason] = n;
    }
  };
  add('errored', Number(m[6]));
  add('timeout', Number(m[7]));
  add('failed', Number(m[5]) - Number(m[6]) - Number(m[7]));
  add('4xx/5xx', codes ? Number(codes[3]) + Number(codes[4]) : 0);
  return t;
}
