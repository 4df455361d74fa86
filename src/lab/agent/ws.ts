/**
 * WebSocket through the lab's proxies (ADR 076): an HTTP/1.1 upgrade, after which Envoy forwards the
 * connection as an opaque tunnel. Its drain does not touch an upgraded connection: no
 * `connection: close` on upgrades (conn_manager_impl.cc encodeHeaders), shutdownNotice/goAway do
 * nothing on HTTP/1, and the drain timeout closes a connection only once it has no active stream
 * (checkForDeferredClose: `streams_.empty()`), which an open tunnel is. The tunnel ends when a side
 * closes it or when the proxy process exits.
 */
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** How the upgrade went, as the proxy saw it: 101 (a tunnel), another status, or no upstream. */
export interface UpgradeOutcome {
  ok: boolean;
  reason: string;
}

/** Envoy's local reply when the upstream cannot be reached (as on HTTP/1.1, ADR 051). */
function envoy503(socket: Duplex, why: string, addHeaders: Record<string, string>): void {
  const body = `upstream connect error or disconnect/reset before headers. reset reason: ${why}\n`;
  const extra = Object.entries(addHeaders).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-md-envoy: ${why}\r\n${extra}connection: close\r\n\r\n${body}`);
}

/**
 * Forward an upgrade request to host:port and splice the two connections. `addHeaders` go into the
 * upstream's response head (the lab's client proxy names the pod). Resolves once the upstream
 * answered (or could not be reached); the tunnel then lives until either side closes.
 */
export function tunnelUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, host: string, port: number, addHeaders: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve) => {
    let answered = false;
    socket.on('error', () => undefined);
    const up = net.connect({ host, port });
    up.on('error', (e: NodeJS.ErrnoException) => {
      if (answered) {
        socket.destroy();
        return;
      }
      answered = true;
      const refused = e.code === 'ECONNREFUSED';
      envoy503(socket, refused ? 'connection failure' : 'connection termination', addHeaders);
      resolve({ ok: false, reason: refused ? 'refused' : 'reset' });
    });
    up.on('connect', () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) up.write(head);
    });
    let buf = Buffer.alloc(0);
    const onHead = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      up.off('data', onHead);
      answered = true;
      const headText = buf.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1] ?? 0);
      const [first = '', ...rest] = headText.split('\r\n');
      const extra = Object.entries(addHeaders).map(([k, v]) => `${k}: ${v}`);
      socket.write([first, ...extra, ...rest].join('\r\n') + '\r\n\r\n');
      const tail = buf.subarray(end + 4);
      if (tail.length) socket.write(tail);
      // The tunnel: bytes both ways; a side's end ends the other, an error destroys it.
      up.pipe(socket);
      socket.pipe(up);
      up.on('close', (hadError) => (hadError ? socket.destroy() : socket.end()));
      socket.on('close', (hadError: boolean) => (hadError ? up.destroy() : up.end()));
      resolve(status === 101 ? { ok: true, reason: '' } : { ok: false, reason: String(status || 'bad-response') });
    };
    up.on('data', onHead);
    socket.on('close', () => {
      if (!answered) up.destroy();
    });
  });
}
