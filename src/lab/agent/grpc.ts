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
import { H2Pool, streamFailure, type Session } from './h2.js';

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
}

/** Envoy's local reply to a gRPC request: trailers-only, grpc-status 14 UNAVAILABLE, HTTP 200. */
function localReply(down: http2.ServerHttp2Stream, why: string): void {
  if (down.destroyed || down.closed || down.headersSent) return;
  down.respond(
    { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(grpc.status.UNAVAILABLE), 'grpc-message': `upstream connect error or disconnect/reset before headers. reset reason: ${why}` },
    { endStream: true },
  );
}

/** Forward one gRPC call (an h2 stream) to `pool`; resolves with its outcome, never rejects. No timeout: Istio's routes have none by default. */
export function forwardGrpcStream(down: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, pool: H2Pool): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: StreamOutcome) => {
      if (settled) return;
      settled = true;
      resolve(o);
    };
    let s: Session;
    let up: http2.ClientHttp2Stream;
    try {
      s = pool.get();
      up = s.request({ ':method': String(headers[':method'] ?? 'POST'), ':path': String(headers[':path'] ?? '/'), ':authority': String(headers[':authority'] ?? 'app'), ...plain(headers) }, { endStream: false });
    } catch {
      localReply(down, 'connection termination');
      done({ ok: false, reason: 'goaway' });
      return;
    }
    let status = 0;
    let grpcStatus: string | undefined;
    let trailers: http2.OutgoingHttpHeaders | undefined;
    up.on('error', () => undefined);
    down.on('error', () => undefined);
    down.pipe(up);
    // The client cancelled (its deadline, or the end of the run): pass the cancel on, count nothing here.
    down.on('close', () => {
      if (settled) return;
      if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
      done({ ok: false, reason: 'cancelled', cancelled: true });
    });
    up.on('response', (h) => {
      status = Number(h[':status']);
      if (down.destroyed || down.closed) return;
      if (h['grpc-status'] !== undefined) {
        // Trailers-only (an error status, or the app's own local answer).
        grpcStatus = String(h['grpc-status']);
        down.respond({ ':status': status, ...plain(h) }, { endStream: true });
        return;
      }
      down.respond({ ':status': status, ...plain(h) }, { waitForTrailers: true });
      down.on('wantTrailers', () => down.sendTrailers(trailers ?? { 'grpc-status': String(grpc.status.INTERNAL), 'grpc-message': 'no trailers from upstream' }));
    });
    up.on('data', (d: Buffer) => {
      if (!down.destroyed && !down.closed) down.write(d);
    });
    up.on('trailers', (t) => {
      trailers = plain(t);
      grpcStatus = String(t['grpc-status'] ?? '');
    });
    up.on('close', () => {
      const code = up.rstCode;
      const clean = status !== 0 && (code === undefined || code === http2.constants.NGHTTP2_NO_ERROR) && grpcStatus !== undefined;
      if (clean) {
        if (!down.destroyed && !down.closed && !down.writableEnded) down.end();
        done(grpcStatus === '0' ? { ok: true, reason: '' } : { ok: false, reason: `grpc-${grpcStatusName(grpcStatus)}` });
        return;
      }
      if (status === 0) {
        // Before any answer: Envoy's local reply, UNAVAILABLE, under the h2 reason (refused, refused-stream, goaway, reset).
        const f = streamFailure(s, code, status);
        localReply(down, f.error === 'refused' ? 'connection failure' : 'connection termination');
        done({ ok: false, reason: f.error });
        return;
      }
      // Cut after the headers: Envoy resets the downstream stream.
      if (!down.destroyed && !down.closed) down.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      done({ ok: false, reason: 'reset' });
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
