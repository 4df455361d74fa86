/**
 * WebSocket in the lab with the `ws` package (ADR 072). Envoy forwards an upgraded connection as an
 * opaque tunnel: its drain adds no `connection: close` to upgrades (envoy conn_manager_impl.cc
 * encodeHeaders: "Do not do this for H2 … or Upgrade") and sends nothing to the peers, so there is no
 * graceful close; when the proxy exits the tunnel is cut (istio/istio#54060). Each message the client
 * sends is a request; one without an answer counts as failed. A connection that ends without the app's
 * close frame (code 1006: cut) counts as failed and is reported as cut.
 */
import type http from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { fail, newTally, succeed, type LoadTarget, type ProtocolLoad, type ProtocolTally } from './tally.js';

/** The close code the app sends when it shuts down (RFC 6455 1001 "going away"). */
export const APP_CLOSE_CODE = 1001;
/**
 * The app's own goodbye before its close frame. After sending a Close frame an endpoint sends no more
 * data (RFC 6455 5.5.1), so a message crossing it is lost by the protocol itself; a well-behaved app
 * says goodbye first, the client stops sending, then the app closes.
 */
export const APP_GOODBYE = 'meshdrain-lab:goodbye';

export interface EchoWsServer {
  wss: WebSocketServer;
  port: number;
  /** The app's own clean close: a goodbye to every client, then (after goodbyeMs) a close frame. */
  closeAll(goodbyeMs?: number): void;
  stop(): Promise<void>;
}

/**
 * The app's WebSocket face on its own HTTP server (which keeps answering plain requests, e.g. /ready):
 * echoes every message; `closeAll` is the app's clean close (goodbye, then a close frame).
 */
export function attachWsEcho(server: http.Server): { wss: WebSocketServer; closeAll(goodbyeMs?: number): void } {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => undefined);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => ws.send(data));
    ws.on('error', () => undefined);
  });
  return {
    wss,
    closeAll(goodbyeMs = 100) {
      for (const c of wss.clients) c.send(APP_GOODBYE);
      setTimeout(() => {
        for (const c of wss.clients) c.close(APP_CLOSE_CODE, 'app shutting down');
      }, goodbyeMs).unref();
    },
  };
}

/** The app's WebSocket face: echoes every message. */
export function startWsServer(host: string, port: number): Promise<EchoWsServer> {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host, port });
    wss.on('connection', (ws) => {
      ws.on('message', (data) => ws.send(data));
      ws.on('error', () => undefined);
    });
    wss.once('error', reject);
    wss.once('listening', () => {
      const addr = wss.address();
      resolve({
        wss,
        port: addr !== null && typeof addr === 'object' ? addr.port : port,
        closeAll(goodbyeMs = 100) {
          for (const c of wss.clients) c.send(APP_GOODBYE);
          setTimeout(() => {
            for (const c of wss.clients) c.close(APP_CLOSE_CODE, 'app shutting down');
          }, goodbyeMs).unref();
        },
        stop: () => new Promise<void>((r) => wss.close(() => r())),
      });
    });
  });
}

export interface WsLoadOptions {
  connections: number;
  intervalMs: number;
  maxMs: number;
  /** How long a message may wait for its answer (at the end of the run). */
  answerMs?: number;
  /** Keep the load's own timeline (newTally(bucketMs)); failures name the pod from this response header. */
  bucketMs?: number;
  podHeader?: string;
}

/** Long-lived connections, each sending a numbered message every intervalMs; reconnects when closed. */
export function startWsLoad(target: LoadTarget, o: WsLoadOptions): ProtocolLoad {
  const tally: ProtocolTally = { ...newTally(o.bucketMs), cut: 0 };
  let stopped = false;
  const until = Date.now() + o.maxMs;
  const live = () => !stopped && Date.now() < until;
  const url = `ws://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}/`;
  const sockets = new Set<WebSocket>();
  const conn = () =>
    new Promise<void>((resolve) => {
      const ws = new WebSocket(url);
      sockets.add(ws);
      const pending = new Set<string>();
      let n = 0;
      let timer: NodeJS.Timeout | undefined;
      let pod = '';
      ws.on('upgrade', (res: http.IncomingMessage) => {
        if (o.podHeader) pod = String(res.headers[o.podHeader] ?? '');
      });
      ws.on('open', () => {
        timer = setInterval(() => {
          if (ws.readyState !== WebSocket.OPEN) return;
          const id = String(n++);
          pending.add(id);
          tally.requests++;
          ws.send(id);
        }, o.intervalMs);
      });
      ws.on('message', (d) => {
        const text = d.toString();
        if (text === APP_GOODBYE) clearInterval(timer);
        else if (pending.delete(text)) succeed(tally);
      });
      // Not a 101 (a proxy's 503): note the pod, abort the handshake (ws then emits error and close 1006).
      ws.on('unexpected-response', (req: http.ClientRequest, res: http.IncomingMessage) => {
        if (o.podHeader) pod = String(res.headers[o.podHeader] ?? '');
        res.resume();
        req.destroy(new Error(`unexpected response ${res.statusCode}`));
      });
      ws.on('error', () => undefined);
      ws.on('close', (code) => {
        clearInterval(timer);
        sockets.delete(ws);
        for (let i = 0; i < pending.size; i++) fail(tally, 'no answer', pod);
        if (n === 0 && code === 1006) {
          // Never opened: a refused or reset connection attempt (or a non-101 answer) is one failed request.
          tally.requests++;
          fail(tally, 'connect', pod);
        } else if (code === 1006 && !(stopped && closingOurselves.has(ws))) {
          tally.cut!++;
          fail(tally, 'cut', pod);
        }
        resolve();
      });
    });
  const closingOurselves = new Set<WebSocket>();
  const worker = async () => {
    while (live()) {
      await conn();
      if (live()) await new Promise((r) => setTimeout(r, 20));
    }
  };
  const workers = Array.from({ length: o.connections }, worker);
  return {
    count: () => tally.requests,
    async stop(): Promise<ProtocolTally> {
      // Let answers in flight arrive, then close our side cleanly.
      await new Promise((r) => setTimeout(r, o.answerMs ?? 200));
      stopped = true;
      for (const ws of sockets) {
        closingOurselves.add(ws);
        ws.close(1000);
      }
      await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 3000))]);
      for (const ws of sockets) ws.terminate();
      await Promise.all(workers);
      return tally;
    },
  };
}
