/**
 * HTTP/2 cleartext (h2c) pieces the agent's roles share (ADR 072/074): a session pool that opens a new
 * session once the old one got a GOAWAY (what Envoy's and Node's clients do), one request that never
 * rejects, and Envoy's drain of a server session (shutdown notice, then the final GOAWAY after the
 * HCM's drain_timeout).
 */
import http2 from 'node:http2';

/**
 * Envoy's shutdown notice is nghttp2_submit_shutdown_notice: a GOAWAY with the largest stream id after
 * which the server still takes new streams. Node has no such call: its goaway() makes nghttp2 refuse
 * every later stream (GOAWAY_SENT), which would fail streams Envoy processes. The lab sends the notice
 * as an ALTSVC frame (a real HTTP/2 frame that refuses nothing) with this token; the lab's clients treat
 * it as Envoy's clients treat the notice. The final GOAWAY is a real one (ADR 074).
 */
export const SHUTDOWN_NOTICE = 'meshdrain-shutdown-notice';
const NOTICE_ORIGIN = 'http://shutdown-notice.lab';

/** Envoy's HttpConnectionManager drain_timeout default (5 s): shutdown notice → final GOAWAY. */
export const ENVOY_H2_DRAIN_TIMEOUT_MS = 5000;

export type Session = http2.ClientHttp2Session & { mdGoaway?: boolean; mdConnected?: boolean; mdError?: string };

/**
 * One client session to an authority at a time; a GOAWAY'd or closed one is replaced on next use.
 * `close()` is Envoy's drain of a removed host's pool (ADR 078): streams already given to the pool are
 * served, those waiting for the connection included, and the sessions close once they are done.
 */
export class H2Pool {
  private session?: Session;
  private draining = false;
  constructor(
    private readonly authority: string,
    private readonly opts: http2.SecureClientSessionOptions = {},
  ) {}
  get(): Session {
    const s = this.session;
    if (s && !s.closed && !s.destroyed && !s.mdGoaway) return s;
    const next = http2.connect(this.authority, this.opts) as Session;
    next.on('error', (e: NodeJS.ErrnoException) => {
      next.mdError = e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'ECONNRESET' ? 'reset' : 'session-error';
    });
    next.on('connect', () => {
      next.mdConnected = true;
    });
    next.on('goaway', () => {
      next.mdGoaway = true;
    });
    // The lab's stand-in for Envoy's shutdown notice (drainServerSession): stop opening streams here,
    // let the ones in flight finish, take a new session for the next.
    next.on('altsvc', (alt: string) => {
      if (!alt.includes(SHUTDOWN_NOTICE)) return;
      next.mdGoaway = true;
      next.close();
    });
    this.session = next;
    // A stream given to a drained pool (a call whose host was chosen before the removal) still goes out.
    if (this.draining) closeWhenDone(next);
    return next;
  }
  /**
   * The host left the endpoints: Envoy's DrainAndDelete of its pool (conn_pool_base.cc
   * closeIdleConnectionsForDrainingPool closes a connecting client only when no stream is pending on
   * it; a busy one closes when its last stream ends). No new stream is opened here after this.
   */
  close(): void {
    this.draining = true;
    if (this.session) closeWhenDone(this.session);
  }
  destroy(): void {
    this.session?.destroy();
  }
}

/**
 * Close a client session once its streams are done, those still waiting for the connection included.
 * Node's `session.close()` on a session still connecting fails every stream queued on it when the
 * connection comes up (requestOnConnect: "New streams cannot be created after receiving a GOAWAY",
 * then RST_STREAM INTERNAL_ERROR), which Envoy's pool never does: so a connecting session is closed
 * only after its queued streams went out (they are submitted by a 'connect' listener; the close waits
 * a turn of the loop after it).
 */
function closeWhenDone(s: Session): void {
  if (s.closed || s.destroyed) return;
  if (s.connecting) {
    s.once('connect', () => setImmediate(() => s.close()));
    return;
  }
  s.close();
}

export type H2Reply = { status: number; headers: http2.IncomingHttpHeaders; body: Buffer; error?: undefined } | { error: string; unprocessed: boolean };

/**
 * One h2 request that never rejects. `unprocessed`: the server never took the stream (REFUSED_STREAM,
 * or its session went away before any response): what a GOAWAY race looks like to the client.
 */
export function h2Request(pool: H2Pool, headers: http2.OutgoingHttpHeaders, timeoutMs: number): Promise<H2Reply> {
  return new Promise((resolve) => {
    let s: Session;
    try {
      s = pool.get();
    } catch (e) {
      resolve({ error: (e as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'refused' : 'connect', unprocessed: true });
      return;
    }
    let status = 0;
    let resHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let req: http2.ClientHttp2Stream;
    try {
      req = s.request(headers);
    } catch {
      resolve({ error: 'goaway', unprocessed: true });
      return;
    }
    let timedOut = false;
    req.setTimeout(timeoutMs, () => {
      timedOut = true;
      req.close(http2.constants.NGHTTP2_CANCEL);
    });
    req.on('response', (h) => {
      status = Number(h[':status']);
      resHeaders = h;
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('error', () => undefined);
    req.on('close', () => {
      const code = req.rstCode;
      if (status && (code === undefined || code === http2.constants.NGHTTP2_NO_ERROR)) {
        resolve({ status, headers: resHeaders, body: Buffer.concat(chunks) });
        return;
      }
      // Our own timeout first (a stream that hung is not a GOAWAY race, even on a draining session).
      if (timedOut && s.mdConnected) {
        resolve({ error: 'timeout', unprocessed: false });
        return;
      }
      resolve(streamFailure(s, code, status));
    });
    req.end();
  });
}

/**
 * Why a client stream that did not end cleanly failed, in the lab's words: `refused` (never connected:
 * nothing listens), `refused-stream` / `goaway` (the server never processed it), `reset` (anything else).
 */
export function streamFailure(s: Session, code: number | undefined, status: number): { error: string; unprocessed: boolean } {
  // Never connected: the connection itself failed (refused: nothing listens on the pod's port).
  if (!s.mdConnected) return { error: s.mdError === 'session-error' || !s.mdError ? 'refused' : s.mdError, unprocessed: true };
  const unprocessed = status === 0 && (code === http2.constants.NGHTTP2_REFUSED_STREAM || s.mdGoaway === true || s.destroyed);
  return { error: unprocessed ? (code === http2.constants.NGHTTP2_REFUSED_STREAM ? 'refused-stream' : 'goaway') : 'reset', unprocessed };
}

/**
 * Envoy's drain on one server session (conn_manager_impl.cc startDrainSequence → onDrainTimeout): a
 * GOAWAY with the largest stream id now (the shutdown notice: streams racing it still complete), the
 * final GOAWAY with the last processed stream after `drainTimeoutMs`.
 */
export function drainServerSession(session: http2.ServerHttp2Session, drainTimeoutMs: number): void {
  if (session.closed || session.destroyed) return;
  const s = session as http2.ServerHttp2Session & { mdNotice?: boolean };
  if (s.mdNotice) return;
  s.mdNotice = true;
  session.altsvc(`h2=":1"; ma=1; ${SHUTDOWN_NOTICE}`, NOTICE_ORIGIN);
  const t = setTimeout(() => {
    if (!session.closed && !session.destroyed) session.goaway(http2.constants.NGHTTP2_NO_ERROR, session.state.lastProcStreamID ?? 0);
  }, drainTimeoutMs);
  t.unref();
}

/** An h2c server that tracks its sessions. */
export function h2Server(onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void): { server: http2.Http2Server; sessions: Set<http2.ServerHttp2Session> } {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    onStream(stream, headers);
  });
  server.on('sessionError', () => undefined);
  return { server, sessions };
}

export function listenH2(server: http2.Http2Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}
