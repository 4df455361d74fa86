/** The app container and the external service it calls while it shuts down. */
import http from 'node:http';
import type { AppConfig, ExternalConfig } from './config.js';
import { h2Server, listenH2 } from './h2.js';
import { startEchoServer, type EchoServer } from '../protocols/grpc.js';
import { attachWsEcho } from '../protocols/websocket.js';
import { ev, listen, now, out, reasonOf, request, sleep, stdinLines } from './util.js';

/**
 * Serves on appPort and metrics on metricsPort. On SIGTERM it does its shutdown work (calls the
 * external service for shutdownWorkMs every egressIntervalMs, recording each outcome; with callsOut
 * false the same time passes without a call, ADR 079) while still answering requests that reach it,
 * then exits. With closeOnSigterm it first stops accepting on
 * appPort and finishes in-flight requests (server.close() at SIGTERM).
 */
export async function app(cfg: AppConfig): Promise<void> {
  let terminating = false;
  let inflight = 0;
  let served = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/ready') {
      res.writeHead(terminating ? 503 : 200);
      res.end();
      return;
    }
    inflight++;
    served++;
    res.on('close', () => inflight--);
    const h: http.OutgoingHttpHeaders = { 'content-type': 'text/plain' };
    if (terminating) h.connection = 'close';
    res.writeHead(200, h);
    res.end('hello from ' + cfg.pod + '\n');
  });
  server.keepAliveTimeout = 3_600_000;
  // --protocol http2: the same app over h2c (every stream is a request; /ready as on HTTP/1.1).
  const h2 =
    cfg.protocol === 'http2'
      ? h2Server((stream, headers) => {
          if (headers[':path'] === '/ready') {
            stream.respond({ ':status': terminating ? 503 : 200 });
            stream.end();
            return;
          }
          inflight++;
          served++;
          stream.on('close', () => inflight--);
          stream.respond({ ':status': 200, 'content-type': 'text/plain' });
          stream.end('hello from ' + cfg.pod + '\n');
        })
      : undefined;
  // --protocol websocket: the HTTP server also takes upgrades and echoes every message (ADR 076).
  const ws = cfg.protocol === 'websocket' ? attachWsEcho(server) : undefined;
  const metrics = http.createServer((_req, res) => res.end('app_requests_total ' + served + '\n'));
  // --protocol grpc: the app is a gRPC server (@grpc/grpc-js): Unary, Watch (server streaming), Ready.
  let grpcApp: EchoServer | undefined;
  if (cfg.protocol === 'grpc') grpcApp = await startEchoServer('0.0.0.0', cfg.appPort, 100, () => !terminating);
  else if (h2) await listenH2(h2.server, cfg.appPort, '0.0.0.0');
  else await listen(server, cfg.appPort, '0.0.0.0');
  if (cfg.metricsPort !== null) await listen(metrics, cfg.metricsPort, '0.0.0.0');
  ev('app-ready');
  process.on('SIGTERM', () => {
    if (terminating) return;
    terminating = true;
    void (async () => {
      ev('app-sigterm');
      if (cfg.closeOnSigterm) {
        // Like server.close() at SIGTERM: stop accepting, finish in-flight, then do the shutdown work.
        server.close();
        server.closeIdleConnections();
        if (h2) {
          // Go's Server.Shutdown / Node's server.close() on h2: stop accepting, GOAWAY the sessions
          // (in-flight streams finish).
          h2.server.close();
          for (const s of h2.sessions) s.close();
        }
        // gRPC's graceful stop (grpc-js tryShutdown, Go's GracefulStop): no new calls, GOAWAY, the
        // app ends its Watch streams itself (OK); WebSocket: goodbye, then a close frame to each client.
        if (grpcApp) {
          grpcApp.closeStreams();
          grpcApp.server.tryShutdown(() => undefined);
        }
        ws?.closeAll();
        const t0 = now();
        while (inflight > 0 && now() - t0 < 2000) await sleep(5);
        ev('app-closed-port', { inflight });
      }
      // A pooled keep-alive client, as most HTTP libraries are: a `connection: close` from the proxy
      // shows (the pool opens a new connection), and a proxy that is gone fails the next call.
      const egressAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const end = now() + cfg.shutdownWorkMs;
      // An app whose shutdown work stays inside the pod (flushes to disk, finishes in-memory jobs):
      // the same time, no call out.
      if (cfg.callsOut === false) await sleep(cfg.shutdownWorkMs);
      let n = 0;
      while (cfg.callsOut !== false && now() < end) {
        const started = now();
        n++;
        const r = await request({ host: cfg.externalIp, port: cfg.externalPort, path: `/call?pod=${encodeURIComponent(cfg.pod)}&n=${n}`, agent: egressAgent, timeout: 1000 });
        const ok = !r.error && r.status === 200;
        out({ ev: 'egress', t: started, ok, reason: ok ? '' : r.error ? reasonOf(r.error) : String(r.status), close: !r.error && r.headers.connection === 'close' });
        const wait = cfg.egressIntervalMs - (now() - started);
        if (wait > 0) await sleep(wait);
      }
      // Long-lived calls and connections end with the app's own clean close before it exits.
      if (grpcApp) {
        grpcApp.closeStreams();
        grpcApp.server.tryShutdown(() => undefined);
        await sleep(300);
      }
      if (ws && ws.wss.clients.size) {
        ws.closeAll();
        await sleep(300);
      }
      // Listeners close with the process (the HTTP server is the last thing to stop).
      ev('app-exit');
      server.close();
      server.closeAllConnections();
      if (h2) for (const s of h2.sessions) s.destroy();
      if (cfg.metricsPort !== null) metrics.close();
      grpcApp?.server.forceShutdown();
      process.exit(0);
    })();
  });
  stdinLines();
}

/** The service outside the pod the app calls during shutdown. */
export async function external(cfg: ExternalConfig): Promise<void> {
  let calls = 0;
  const s = http.createServer((_req, res) => {
    calls++;
    res.end('ok ' + calls + '\n');
  });
  await listen(s, cfg.externalPort, '0.0.0.0');
  ev('external-ready');
  stdinLines();
}
