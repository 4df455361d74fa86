/**
 * istio-proxy: `envoy` (inbound, outbound, admin, Prometheus) and `pilot-agent` (its PID 1: status
 * and health ports, the shutdown sequence), plus `pilot-agent request`. Shutdown behaviour follows
 * Istio and Envoy; docs/adr/051-lab-proxy-model.md cites the source for each part.
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import { AGENT_QUIT_PATH, AGENT_REQUEST_PORTS, agentRequestFails } from '../../istio/facts.js';
import type { EnvoyConfig, PilotAgentConfig, RequestConfig } from './config.js';
import { drainServerSession, ENVOY_H2_DRAIN_TIMEOUT_MS, H2Pool, h2Request, h2Server, listenH2 } from './h2.js';
import { forwardGrpcStream, grpcReady } from './grpc.js';
import { ev, listen, request, sleep, stdinCommands, stdinLines, stripHop } from './util.js';
import { tunnelUpgrade } from './ws.js';

/**
 * istio/istio pkg/util/net/ip.go:93-102 IsRequestFromLocalhost: the peer's address is loopback. (Go reports an
 * IPv4 peer of a dual-stack listener unmapped; Node maps it, so ::ffff:127.x counts too.)
 */
export function isLoopbackPeer(addr: string | undefined): boolean {
  const a = (addr ?? '').replace(/^::ffff:/i, '');
  return /^127\./.test(a) || a === '::1';
}

/**
 * Who asked for a quit endpoint, and what it answered: one line per request (the kubelet records it on the
 * pod; report.ts prints it under the hooks). `endpoint`: pilot-agent's status port or Envoy's admin.
 */
function quitRequest(endpoint: 'pilot-agent' | 'envoy-admin', req: http.IncomingMessage, status: number): void {
  ev('quit-request', { endpoint, method: req.method ?? '', from: req.socket.remoteAddress ?? '', status });
}

/** inbound → the app, outbound → the Host header's destination, admin on localhost, Prometheus. */
export async function envoy(cfg: EnvoyConfig): Promise<void> {
  const { ports } = cfg;
  // Envoy's drain manager: which direction is draining (envoyproxy/envoy source/server/drain_manager_impl.cc).
  let draining: 'none' | 'inbound' | 'all' = 'none';
  /** Does a listener of this direction answer with `connection: close` now? (DrainManagerImpl::drainClose) */
  const drainClose = (dir: 'inbound' | 'outbound') => draining === 'all' || (draining === 'inbound' && (dir === 'inbound' || !cfg.drainDirectionAware));
  const active = { inbound: 0, outbound: 0 };
  const appAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const countConns = (server: http.Server, key: keyof typeof active) =>
    server.on('connection', (s) => {
      active[key]++;
      s.on('close', () => active[key]--);
    });
  const upstreamFailure = (res: http.ServerResponse, e: NodeJS.ErrnoException, closeNow: boolean) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const why = e.code === 'ECONNREFUSED' ? 'connection failure' : 'connection termination';
    const h: http.OutgoingHttpHeaders = { 'content-type': 'text/plain', 'x-md-envoy': why };
    if (closeNow) h.connection = 'close';
    res.writeHead(503, h);
    res.end('upstream connect error or disconnect/reset before headers. reset reason: ' + why + '\n');
  };
  const inbound = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: cfg.appPort, method: req.method, path: req.url, headers: stripHop(req.headers), agent: appAgent }, (ur) => {
      const h = stripHop(ur.headers);
      // Envoy's graceful drain (--drain-strategy immediate): keep accepting, ask every client to go.
      if (drainClose('inbound')) h.connection = 'close';
      res.writeHead(ur.statusCode ?? 502, h);
      ur.pipe(res);
      ur.on('error', () => res.destroy());
    });
    up.on('error', (e) => upstreamFailure(res, e, drainClose('inbound')));
    req.pipe(up);
  });
  inbound.keepAliveTimeout = 3_600_000;
  // --protocol websocket: an upgrade becomes a tunnel to the app that the drain does not touch (ADR 076).
  if (cfg.protocol === 'websocket') inbound.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => void tunnelUpgrade(req, socket, head, '127.0.0.1', cfg.appPort));
  countConns(inbound, 'inbound');
  // --protocol http2: inbound is h2c, forwarded to the app over h2c. While draining, a session starts
  // Envoy's drain sequence when it sends response headers, and only then (ADR 076 addendum): the HCM
  // checks drainClose() in encodeHeaders ("Send the go away frame prior to encoding the header block",
  // envoyproxy/envoy source/common/http/conn_manager_impl.cc) and never drains a connection
  // proactively (envoy#14350, open; the proactive GOAWAY of PR #16201 never landed). A session that
  // sends no new headers (long-lived streams only) gets no GOAWAY from the drain.
  const appH2 = new H2Pool(`http://127.0.0.1:${cfg.appPort}`);
  const drainOnHeaders = (stream: import('node:http2').ServerHttp2Stream): void => {
    const respond = stream.respond.bind(stream);
    stream.respond = (headers, options) => {
      if (drainClose('inbound')) drainServerSession(stream.session as import('node:http2').ServerHttp2Session, ENVOY_H2_DRAIN_TIMEOUT_MS);
      respond(headers, options);
    };
  };
  const inboundH2 =
    cfg.protocol === 'grpc'
      ? h2Server((stream, headers) => {
          // gRPC is HTTP/2 to Envoy: the same drain sequence; each call is a stream forwarded as it comes.
          drainOnHeaders(stream);
          void forwardGrpcStream(stream, headers, appH2);
        })
      : cfg.protocol === 'http2'
      ? h2Server((stream, headers) => {
          drainOnHeaders(stream);
          void h2Request(appH2, { ':method': String(headers[':method'] ?? 'GET'), ':path': String(headers[':path'] ?? '/') }, 5000).then((r) => {
            if (stream.destroyed || stream.closed) return;
            if (r.error === undefined) {
              stream.respond({ ':status': r.status, 'content-type': String(r.headers['content-type'] ?? 'text/plain') });
              stream.end(r.body);
              return;
            }
            const why = r.error === 'refused' ? 'connection failure' : 'connection termination';
            stream.respond({ ':status': 503, 'content-type': 'text/plain', 'x-md-envoy': why });
            stream.end('upstream connect error or disconnect/reset before headers. reset reason: ' + why + '\n');
          });
        })
      : undefined;
  if (inboundH2) {
    inboundH2.server.on('connection', (s: import('node:net').Socket) => {
      active.inbound++;
      s.on('close', () => active.inbound--);
    });
  }
  const outbound = http.createServer((req, res) => {
    const [host = '', port = '80'] = String(req.headers.host ?? '').split(':');
    const up = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: stripHop(req.headers), agent: false }, (ur) => {
      const h = stripHop(ur.headers);
      if (drainClose('outbound')) h.connection = 'close';
      res.writeHead(ur.statusCode ?? 502, h);
      ur.pipe(res);
    });
    up.on('error', (e) => upstreamFailure(res, e, drainClose('outbound')));
    req.pipe(up);
  });
  countConns(outbound, 'outbound');
  const admin = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    // Handlers that change the server answer 405 to anything but a POST (envoyproxy/envoy
    // source/server/admin/admin.cc AdminImpl::makeRequest, `mutates_server_state_`; both are
    // registered with mutates_state true).
    if ((u.pathname === '/drain_listeners' || u.pathname === '/quitquitquit') && req.method !== 'POST') {
      if (u.pathname === '/quitquitquit') quitRequest('envoy-admin', req, 405);
      res.writeHead(405, { 'content-type': 'text/plain' });
      res.end(`Method ${req.method ?? ''} not allowed, POST required.`);
      return;
    }
    if (u.pathname === '/drain_listeners') {
      // Graceful (--drain-strategy immediate): listeners keep accepting; they would stop after
      // drainDuration (45 s) unless skip_exit — pilot-agent kills Envoy long before either matters.
      const dir = u.searchParams.has('inboundonly') ? 'inbound' : 'all';
      if (draining !== 'all') draining = dir;
      // No session is drained here: Envoy drains an HTTP/2 connection when it next sends response
      // headers on it (drainOnHeaders above; ADR 076 addendum).
      ev('envoy-drain', { query: u.search });
      res.end('OK\n');
      return;
    }
    if (u.pathname === '/stats') {
      // What Istio's stats inclusion lets through by default (pkg/bootstrap/config.go:64, prefixes
      // cluster_manager, listener_manager, server, ...); downstream_cx_active only with
      // EXIT_ON_ZERO_ACTIVE_CONNECTIONS (config.go:68, 295-297). `filter` is a regex on the name.
      const stats: [string, number][] = [
        ['listener_manager.total_listeners_active', draining === 'none' ? 4 : 0],
        ['listener_manager.total_listeners_draining', draining === 'none' ? 0 : draining === 'inbound' ? 1 : 4],
        ['server.live', 1],
        ['server.state', draining === 'none' ? 0 : 1],
        ...(cfg.exitOnZero
          ? ([
              [`listener.0.0.0.0_${ports.inbound}.downstream_cx_active`, active.inbound],
              [`listener.0.0.0.0_${ports.outbound}.downstream_cx_active`, active.outbound],
            ] as [string, number][])
          : []),
      ];
      let re: RegExp | undefined;
      try {
        re = u.searchParams.has('filter') ? new RegExp(u.searchParams.get('filter') ?? '') : undefined;
      } catch {
        res.writeHead(400);
        res.end('Invalid re2 regex\n');
        return;
      }
      res.end(stats.filter(([n]) => !re || re.test(n)).map(([n, v]) => `${n}: ${v}\n`).join(''));
      return;
    }
    if (u.pathname === '/quitquitquit') {
      // Envoy's own quit (source/server/admin/server_cmd_handler.cc handlerQuitQuitQuit: server_.shutdown(),
      // "OK\n"): Envoy exits, no drain; pilot-agent sees it exit and exits too (pkg/envoy/agent.go:125-134).
      // The admin listens on 127.0.0.1 only, so only the pod reaches it (`pilot-agent request POST quitquitquit`).
      quitRequest('envoy-admin', req, 200);
      res.end('OK\n');
      setTimeout(() => process.exit(0), 10);
      return;
    }
    if (u.pathname === '/clusters') {
      const lines = eds.flatMap((e) => {
        const c = `outbound|${e.port}||${cfg.service ?? 'app.lab.svc.cluster.local'}::${e.ip}:${e.port}`;
        return [`${c}::cx_active::0`, `${c}::health_flags::healthy`, `${c}::weight::1`];
      });
      res.end(lines.join('\n') + (lines.length ? '\n' : ''));
      return;
    }
    if (u.pathname === '/ready') {
      res.writeHead(draining !== 'none' ? 503 : 200);
      res.end(draining !== 'none' ? 'DRAINING\n' : 'LIVE\n');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  const prom = http.createServer((_req, res) => res.end('envoy_cluster_upstream_cx_active 0\n'));
  // This proxy's own view of its Service's endpoints, as istiod pushes it (EDS; ADR 075). Envoy's
  // admin /clusters prints one line per host field: `cluster::ip:port::health_flags::healthy`.
  let eds: { ip: string; port: number }[] = [];
  if (inboundH2) await listenH2(inboundH2.server, ports.inbound, '0.0.0.0');
  else await listen(inbound, ports.inbound, '0.0.0.0');
  await listen(outbound, ports.outbound, '0.0.0.0');
  await listen(admin, ports.admin, '127.0.0.1');
  await listen(prom, ports.prometheus, '0.0.0.0');
  ev('envoy-ready');
  stdinCommands<{ op: string; endpoints?: { ip: string; port: number }[] }>((m) => {
    if (m.op === 'eds' && Array.isArray(m.endpoints)) {
      eds = m.endpoints;
      ev('envoy-eds', { n: eds.length });
    }
  });
}

/** PID 1 of istio-proxy: starts envoy, serves status/health, runs the shutdown sequence on SIGTERM. */
export async function pilotAgent(cfg: PilotAgentConfig, self: string): Promise<void> {
  const { ports } = cfg;
  const envoyProc = spawn(cfg.envoyBin, [self, 'envoy', JSON.stringify(cfg)], { stdio: ['pipe', 'inherit', 'inherit'] });
  envoyProc.stdin?.on('error', () => undefined);
  envoyProc.on('exit', () => {
    ev('envoy-exit');
    process.exit(0);
  });
  let terminating = false;
  /** Set by /drain (DrainNow): a later SIGTERM exits at once instead of draining again (istio/istio#47226). */
  let skipDrain = false;
  const admin = (path: string, method = 'GET', timeout = 1000) => request({ host: '127.0.0.1', port: ports.admin, method, path, timeout });
  const envoyReady = async () => {
    const r = await admin('/ready', 'GET', 500);
    return !r.error && r.status === 200;
  };
  // pkg/envoy/admin.go DrainListeners: sidecars drain inbound only; DrainNow adds skip_exit.
  const appProbe = new H2Pool(`http://127.0.0.1:${cfg.appPort}`);
  const drainEnvoy = (skipExit: boolean) => admin(`/drain_listeners?inboundonly&graceful${skipExit ? '&skip_exit' : ''}`, 'POST');
  const status = http.createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://localhost');
      if (u.pathname === '/healthz/ready') {
        res.writeHead((await envoyReady()) ? 200 : 503);
        res.end();
        return;
      }
      if (u.pathname.startsWith('/app-health/')) {
        // The injector's rewritten probe: pilot-agent asks the app itself, in the app's protocol.
        if (cfg.protocol === 'grpc') {
          res.writeHead((await grpcReady(`http://127.0.0.1:${cfg.appPort}`, 500)) ? 200 : 503);
          res.end();
          return;
        }
        const r = cfg.protocol === 'http2' ? await h2Request(appProbe, { ':path': '/ready' }, 500) : await request({ host: '127.0.0.1', port: cfg.appPort, path: '/ready', timeout: 500 });
        res.writeHead(r.error !== undefined || !('status' in r) ? 503 : r.status);
        res.end();
        return;
      }
      if (u.pathname === AGENT_QUIT_PATH || u.pathname === '/drain') {
        // handleQuit and handleDrain (status/server.go:1056-1085), in their order: 403 unless the peer is
        // loopback, then 405 unless POST. A kubelet httpGet (a GET from the node) gets the 403.
        const status = !isLoopbackPeer(req.socket.remoteAddress) ? 403 : req.method !== 'POST' ? 405 : 200;
        if (u.pathname === AGENT_QUIT_PATH) quitRequest('pilot-agent', req, status);
        if (status !== 200) {
          // Go's http.Error: the message and a newline, as text/plain.
          res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
          res.end(status === 403 ? 'Only requests from localhost are allowed\n' : 'Method Not Allowed\n');
          return;
        }
      }
      if (u.pathname === AGENT_QUIT_PATH) {
        // "OK", then disableDrain() and shutdown(): the context ends, Agent.terminate finds skipDrain set and
        // aborts at once; envoy.Run kills Envoy (cmd.Process.Kill: SIGKILL) and pilot-agent exits
        // (pkg/envoy/agent.go:114, 142-144, 158-163; proxy.go:237-243). No drain, no terminationDrainDuration.
        res.end('OK');
        ev('quitquitquit');
        skipDrain = true;
        terminate();
        return;
      }
      if (u.pathname === '/drain') {
        // status/server.go handleDrain → Agent.DrainNow: drain now, and skip the drain on SIGTERM.
        await drainEnvoy(true);
        skipDrain = true;
        ev('agent-drain');
        res.end('OK\n');
        return;
      }
      res.writeHead(404);
      res.end();
    })();
  });
  const health = http.createServer((_req, res) => {
    void envoyReady().then((ok) => {
      res.writeHead(ok ? 200 : 503);
      res.end();
    });
  });
  await listen(status, ports.status, '0.0.0.0');
  await listen(health, ports.health, '0.0.0.0');
  /** Agent.terminate (pkg/envoy/agent.go:158-236), once: on SIGTERM, or at once after /quitquitquit. */
  const terminate = (): void => {
    if (terminating) return;
    terminating = true;
    void (async () => {
      if (skipDrain) {
        // Agent.terminate: "Agent already drained, exiting immediately".
        ev('agent-kill-envoy', { already: 'drained' });
        envoyProc.kill('SIGKILL');
        return;
      }
      await drainEnvoy(false);
      if (cfg.exitOnZero) {
        await sleep(cfg.minimumDrainMs);
        for (;;) {
          const r = await admin('/stats?usedonly&filter=downstream_cx_active$');
          let n = 0;
          if (!r.error) for (const m of r.text.matchAll(/downstream_cx_active: (\d+)/g)) n += Number(m[1]);
          if (r.error || n === 0) break;
          await sleep(1000);
        }
      } else {
        await sleep(cfg.terminationDrainMs);
      }
      ev('agent-kill-envoy');
      envoyProc.kill('SIGKILL');
    })();
  };
  process.on('SIGTERM', () => {
    if (!terminating) ev('agent-sigterm');
    terminate();
  });
  // pilot-agent is the xDS proxy between istiod and Envoy: pushes reach Envoy through it.
  stdinLines((line) => {
    if (line.includes('"op":"eds"')) envoyProc.stdin?.write(line + '\n');
  });
}

/** `pilot-agent request [--debug-port=P] METHOD PATH [BODY]`: what the native-sidecar preStop runs. */
export async function pilotAgentRequest(args: string[], cfg: RequestConfig): Promise<never> {
  let port = cfg.adminPort;
  let debugPort: number | undefined;
  const rest: string[] = [];
  // cobra takes `--debug-port=P` and `--debug-port P` alike.
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--debug-port(?:=(\d+))?$/.exec(a);
    if (m) port = debugPort = Number(m[1] ?? args[++i]);
    else rest.push(a);
  }
  // pilot/cmd/pilot-agent/app/request.go:46-50: only Istio's own ports (the lab's default is Envoy's admin port
  // in every run; a unit test points it elsewhere through the config, so only a --debug-port is checked).
  if (debugPort !== undefined && !AGENT_REQUEST_PORTS.includes(debugPort)) {
    process.stderr.write(`Error: debug port ${port} is not in allowed list [${[...AGENT_REQUEST_PORTS].sort((a, b) => a - b).join(' ')}]\n`);
    process.exit(1);
  }
  const method = rest[0] ?? 'GET';
  const path = '/' + String(rest[1] ?? '').replace(/^\//, '');
  const r = await request({ host: '127.0.0.1', port, method, path, timeout: 2000 }, rest[2]);
  if (r.error) {
    process.stderr.write('pilot-agent request: ' + r.error.message + '\n');
    process.exit(1);
  }
  // pilot/pkg/request/command.go:49-52: a status above 399 but 404 is an error; else the body is printed.
  if (agentRequestFails(r.status)) {
    process.stderr.write(`Error: received unsuccessful status code ${r.status}: ${r.text}\n`);
    process.exit(1);
  }
  process.stdout.write(r.text);
  process.exit(0);
}
