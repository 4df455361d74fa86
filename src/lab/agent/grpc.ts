/**
 * gRPC through the lab's proxies (ADR 076). gRPC is HTTP/2: Envoy forwards each call as an h2 stream
 * (request messages, response headers, messages, the grpc-status trailers) and does not look inside,
 * so the lab's Envoy and client-side proxy forward streams the same way (`forwardGrpcStream`). A call
 * that fails before the upstream answered gets Envoy's local reply, which for a gRPC request is a
 * trailers-only answer with grpc-status 14 UNAVAILABLE (Envoy maps its local 503 to UNAVAILABLE); a
 * stream cut after its headers is reset. The kubelet's gRPC probe is the app's Ready call.
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { RetryPolicy } from './config.js';
import { H2Pool, streamFailure, type Session } from './h2.js';
import { backoff, retriable } from './retry.js';

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'http2-settings']);

/** Headers without pseudo-headers and hop-by-hop ones. */
function plain(h: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const o: http2.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') && !HOP.has(k) && v !== undefined) o[k] = v;
  return o;
}

/** The name of a grpc-status code (14 → UNAVAILABLE). */
export const grpcStatusName = (code: string | number | undefined): string => grpc.status[Number(code)] ?? String(code);

/** How one forwarded call ended, as the proxy saw it. `cancelled`: the client gave up (not the proxy's to count). */
export interface StreamOutcome {
  ok: boolean;
  reason: string;
  cancelled?: boolean;
  /** The upstream that answered last (the first one, or the last retry's). */
  target?: string;
  /** The reason of each attempt that was retried (ADR 077). */
  retried?: string[];
}

/** Where one attempt goes: the host's session pool and its name. */
export interface UpstreamTarget {
  pool: H2Pool;
  name: string;
}

/** A route's retries for forwardGrpcStream (client-side proxies only; Istio gives gRPC inbound routes none, ADR 078). */
export interface GrpcRetry {
  policy: RetryPolicy;
  /** The host for a retry (previous_hosts applied by the caller through nextHost). */
  next(tried: ReadonlySet<string>): UpstreamTarget | undefined;
}

/** Envoy's local reply to a gRPC request: trailers-only, grpc-status 14 UNAVAILABLE, HTTP 200. */
function localReply(down: http2.ServerHttp2Stream, why: string): void {
  if (down.destroyed || down.closed || down.headersSent) return;
  down.respond(
    { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(grpc.status.UNAVAILABLE), 'grpc-message': `upstream connect error or disconnect/reset before headers. reset reason: ${why}` },
    { endStream: true },
  );
}

type Attempt =
  | { kind: 'committed'; outcome: StreamOutcome }
  | { kind: 'trailers-only'; headers: http2.IncomingHttpHeaders; grpcStatus: string }
  | { kind: 'failed'; reason: string };

/**
 * One upstream attempt with the whole request body. A response with headers and messages is committed
 * to the client at once (streamed; no retry after that, as in Envoy); a trailers-only answer or a
 * failure before any answer comes back to the caller, who may retry it.
 */
function attempt(down: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, t: UpstreamTarget, body: Buffer, onUp: (up: http2.ClientHttp2Stream) => void): Promise<Attempt> {
  return new Promise((resolve) => {
    let s: Session;
    let up: http2.ClientHttp2Stream;
    try {
      s = t.pool.get();
      up = s.request({ ':method': String(headers[':method'] ?? 'POST'), ':path': String(headers[':path'] ?? '/'), ':authority': String(headers[':authority'] ?? 'app'), ...plain(headers) });
    } catch {
      resolve({ kind: 'failed', reason: 'goaway' });
      return;
    }
    onUp(up);
    let status = 0;
    let grpcStatus: string | undefined;
    let trailersOnly: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.OutgoingHttpHeaders | undefined;
    let committed = false;
    up.on('error', () => undefined);
    up.on('response', (h) => {
      status = Number(h[':status']);
      if (h['grpc-status'] !== undefined) {
        grpcStatus = String(h['grpc-status']);
        trailersOnly = h;
        return;
      }
      if (down.destroyed || down.closed) return;
      committed = true;
      down.respond({ ':status': status, ...plain(h) }, { waitForTrailers: true });
      down.on('wantTrailers', () => down.sendTrailers(trailers ?? { 'grpc-status': String(grpc.status.INTERNAL), 'grpc-message': 'no trailers from upstream' }));
    });
    up.on('data', (d: Buffer) => {
      if (committed && !down.destroyed && !down.closed) down.write(d);
    });
    up.on('trailers', (tr) => {
      trailers = plain(tr);
      grpcStatus = String(tr['grpc-status'] ?? '');
    });
    up.on('close', () => {
      const code = up.rstCode;
      const clean = status !== 0 && (code === undefined || code === http2.constants.NGHTTP2_NO_ERROR) && grpcStatus !== undefined;
      if (trailersOnly && clean) {
        resolve({ kind: 'trailers-only', headers: trailersOnly, grpcStatus: grpcStatus! });
        return;
      }
      if (clean) {
        if (!down.destroyed && !down.closed && !down.writableEnded) down.end();
        resolve({ kind: 'committed', outcome: grpcStatus === '0' ? { ok: true, reason: '' } : { ok: false, reason: `grpc-${grpcStatusName(grpcStatus)}` } });
        return;
      }
      if (!committed) {
        // Before any answer: the h2 reason (refused, refused-stream, goaway, reset).
        resolve({ kind: 'failed', reason: streamFailure(s, code, status).error });
        return;
      }
      // Cut after the headers: Envoy resets the downstream stream.
      if (!down.destroyed && !down.closed) down.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      resolve({ kind: 'committed', outcome: { ok: false, reason: 'reset' } });
    });
    up.end(body);
  });
}

/**
 * Forward one gRPC call (an h2 stream) to `first`, retrying under `retry` (a client-side proxy's route)
 * before anything reached the client; resolves with its outcome, never rejects. The request body is
 * read whole first (the lab's calls are unary or server-streaming), as Envoy buffers it for retries.
 * No timeout: Istio's routes have none by default.
 */
export function forwardGrpcStream(down: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, first: UpstreamTarget | H2Pool, retry?: GrpcRetry): Promise<StreamOutcome> {
  const firstTarget: UpstreamTarget = first instanceof H2Pool ? { pool: first, name: '' } : first;
  return new Promise((resolve) => {
    let settled = false;
    let current: http2.ClientHttp2Stream | undefined;
    const done = (o: StreamOutcome) => {
      if (settled) return;
      settled = true;
      resolve(o);
    };
    down.on('error', () => undefined);
    // The client cancelled (its deadline, or the end of the run): pass the cancel on, count nothing here.
    down.on('close', () => {
      if (settled) return;
      if (current && !current.closed) current.close(http2.constants.NGHTTP2_CANCEL);
      done({ ok: false, reason: 'cancelled', cancelled: true });
    });
    const chunks: Buffer[] = [];
    down.on('data', (d: Buffer) => chunks.push(d));
    down.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const tried = new Set<string>([firstTarget.name]);
        const retried: string[] = [];
        let target = firstTarget;
        for (;;) {
          if (settled) return;
          const r = await attempt(down, headers, target, body, (up) => (current = up));
          const reason = r.kind === 'failed' ? r.reason : r.kind === 'trailers-only' && r.grpcStatus !== '0' ? `grpc-${grpcStatusName(r.grpcStatus)}` : '';
          if (reason && retry && retried.length < retry.policy.numRetries && retriable(retry.policy, reason) && !settled) {
            const next = retry.next(tried);
            if (next) {
              retried.push(reason);
              await backoff(retry.policy, retried.length);
              tried.add(next.name);
              target = next;
              continue;
            }
          }
          const extra = { target: target.name, ...(retried.length ? { retried } : {}) };
          if (r.kind === 'committed') return done({ ...r.outcome, ...extra });
          if (r.kind === 'trailers-only') {
            if (!down.destroyed && !down.closed && !down.headersSent) down.respond({ ':status': Number(r.headers[':status'] ?? 200), ...plain(r.headers) }, { endStream: true });
            return done({ ok: r.grpcStatus === '0', reason, ...extra });
          }
          localReply(down, r.reason === 'refused' ? 'connection failure' : 'connection termination');
          return done({ ok: false, reason: r.reason, ...extra });
        }
      })();
    });
  });
}

/**
 * The kubelet's gRPC readiness probe (and pilot-agent's rewritten one): one `Ready` call, framed by
 * hand because it must leave from a given source address (the node's), which grpc-js cannot bind.
 * Ready when grpc-status is 0 and the app says `serving`.
 */
export function grpcReady(authority: string, timeoutMs: number, localAddress?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const pool = new H2Pool(authority, localAddress ? ({ localAddress } as never) : {});
    let s: Session;
    let req: http2.ClientHttp2Stream;
    const finish = (ok: boolean) => {
      pool.destroy();
      resolve(ok);
    };
    try {
      s = pool.get();
      req = s.request({ ':method': 'POST', ':path': '/meshdrain.lab.Echo/Ready', 'content-type': 'application/grpc', te: 'trailers' });
    } catch {
      finish(false);
      return;
    }
    void s;
    const body = Buffer.from('{}');
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    req.setTimeout(timeoutMs, () => req.close(http2.constants.NGHTTP2_CANCEL));
    req.on('error', () => undefined);
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    req.on('trailers', (t) => {
      grpcStatus = String(t['grpc-status'] ?? '');
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('close', () => {
      if (grpcStatus !== '0') return finish(false);
      const all = Buffer.concat(chunks);
      try {
        finish((JSON.parse(all.subarray(5).toString()) as { serving?: boolean }).serving === true);
      } catch {
        finish(false);
      }
    });
    req.end(frame);
  });
}
