/** The client side: a Service-like per-request balancer (with the kubelet's probes) and the load. */
import http from 'node:http';
import { BALANCER_GRPC_PORT, type BalancerConfig, type LoadConfig, type Probe } from './config.js';
import { forwardGrpcStream, grpcReady } from './grpc.js';
import { H2Pool, h2Request, h2Server, listenH2 } from './h2.js';
import { startGrpcLoad } from '../protocols/grpc.js';
import type { ProtocolLoad } from '../protocols/tally.js';
import { startWsLoad } from '../protocols/websocket.js';
import { backoff, nextHost, retriable } from './retry.js';
import { ev, listen, now, reasonOf, request, stdinCommands, stdinLines, timeoutError } from './util.js';
import { tunnelUpgrade } from './ws.js';

interface Endpoint {
  pod: string;
  ip: string;
  /** The pod's serving port (the Service's targetPort); default cfg.appPort. */
  port?: number;
  agent: http.Agent;
  /** --protocol http2: the upstream hop (client sidecar → the pod's Envoy) is h2c on this pool. */
  h2?: H2Pool;
}

interface Stats {
  requests: number;
  failed: number;
  /** Mesh clients' retries (ADR 077): retried attempts by the reason they failed, requests retried, and those that then succeeded. */
  retries: Record<string, number>;
  retriedRequests: number;
  recoveredRequests: number;
  reasons: Record<string, number>;
  buckets: Record<string, [number, number]>;
  failures: { t: number; reason: string; pod: string }[];
}

type Command =
  | { op: 'set'; id: number; endpoints: { pod: string; ip: string; port?: number; h2?: boolean }[]; client?: number }
  | { op: 'probe'; id: number; ip: string; probes: Probe[] }
  | { op: 'count'; id: number }
  | { op: 'stats'; id: number; reset?: boolean };

/**
 * The clients of the Service, each with its own view of the endpoints (ADR 075): client-side proxies
 * (`mesh`: per-request round robin, like Envoy's upstream pool) and non-mesh clients through a
 * kube-proxy-like path (`kube-proxy`: the endpoint is chosen when the client connects and kept for the
 * connection's life, as conntrack keeps a DNAT'd connection; only the server closing it moves the
 * client). Each downstream connection belongs to one client, round robin. Failures attributed;
 * commands on stdin.
 */
export async function balancer(cfg: BalancerConfig): Promise<void> {
  const clients = (cfg.clients?.length ? cfg.clients : ['mesh' as const]).map((kind) => ({ kind, endpoints: [] as Endpoint[], rr: 0 }));
  const clientOf = new WeakMap<object, number>();
  /** kube-proxy clients: the pod a downstream connection is DNAT'd to, with its one upstream connection. */
  const sticky = new WeakMap<object, { ep: Endpoint; agent: http.Agent }>();
  let conns = 0;
  const agents = new Map<string, http.Agent>();
  const pools = new Map<string, H2Pool>();
  const fresh = (): Stats => ({ requests: 0, failed: 0, retries: {}, retriedRequests: 0, recoveredRequests: 0, reasons: {}, buckets: {}, failures: [] });
  let stats = fresh();
  const record = (ok: boolean, reason: string, pod: string) => {
    const t = now();
    stats.requests++;
    const k = String(Math.floor(t / cfg.bucketMs));
    const b = (stats.buckets[k] ??= [0, 0]);
    if (ok) {
      b[0]++;
      return;
    }
    b[1]++;
    stats.failed++;
    stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
    if (stats.failures.length < 20_000) stats.failures.push({ t, reason, pod });
  };
  /** One attempt to an endpoint: its whole answer, or why there was none. */
  type Outcome = { ok: true; status: number; body: Buffer; close: boolean } | { ok: false; reason: string };
  const http1Attempt = (ep: Endpoint, agent: http.Agent, path: string) =>
    new Promise<Outcome>((resolve) => {
      let done = false;
      const fin = (o: Outcome) => {
        if (done) return;
        done = true;
        resolve(o);
      };
      const up = http.request({ host: ep.ip, port: ep.port ?? cfg.appPort, method: 'GET', path, headers: { host: 'app.lab.svc' }, agent }, (ur) => {
        const chunks: Buffer[] = [];
        ur.on('data', (d: Buffer) => chunks.push(d));
        ur.on('error', (e) => up.emit('error', e));
        ur.on('end', () => fin({ ok: true, status: ur.statusCode ?? 502, body: Buffer.concat(chunks), close: ur.headers.connection === 'close' }));
      });
      up.setTimeout(5000, () => up.destroy(timeoutError()));
      up.on('error', (e) => fin({ ok: false, reason: reasonOf(e) }));
      up.end();
    });
  // The client-side proxy's h2 hop: a stream the server never processed (GOAWAY race, refused stream)
  // fails like any other unless the route's retry policy resends it.
  const h2Attempt = (ep: Endpoint, path: string): Promise<Outcome> =>
    h2Request(ep.h2!, { ':method': 'GET', ':path': path, ':authority': 'app.lab.svc' }, 5000).then((r) => (r.error !== undefined ? { ok: false, reason: r.error } : { ok: true, status: r.status, body: r.body, close: false }));
  const failReason = (o: Outcome) => (!o.ok ? o.reason : o.status >= 500 ? String(o.status) : '');
  /** A mesh client's next host for a retry (round robin, previous_hosts). */
  const retryHost = (client: { endpoints: Endpoint[]; rr: number }, tried: ReadonlySet<string>) =>
    nextHost(cfg.retry!, () => (client.endpoints.length ? client.endpoints[client.rr++ % client.endpoints.length] : undefined), (e) => tried.has(e.pod));
  const countRetries = (retried: string[], ok: boolean) => {
    if (!retried.length) return;
    stats.retriedRequests++;
    if (ok) stats.recoveredRequests++;
    for (const r of retried) stats.retries[r] = (stats.retries[r] ?? 0) + 1;
  };
  const server = http.createServer((req, res) => {
    req.resume();
    const client = clients[clientOf.get(req.socket) ?? 0]!;
    let stick = client.kind === 'kube-proxy' ? sticky.get(req.socket) : undefined;
    if (client.kind === 'kube-proxy' && !stick) {
      const pick = client.endpoints.length ? client.endpoints[client.rr++ % client.endpoints.length] : undefined;
      if (pick) {
        stick = { ep: pick, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
        sticky.set(req.socket, stick);
        const s = stick;
        req.socket.once('close', () => s.agent.destroy());
      }
    }
    const ep = stick ? stick.ep : client.endpoints.length ? client.endpoints[client.rr++ % client.endpoints.length] : undefined;
    if (!ep) {
      record(false, 'no-endpoint', '');
      res.writeHead(503, { 'x-md-fail': 'no-endpoint', 'content-length': 0 });
      res.end();
      return;
    }
    void (async () => {
      // A mesh client is a client-side Envoy with the route's retry policy (ADR 077); a kube-proxy
      // path is L4 and never retries.
      const retry = client.kind === 'mesh' ? cfg.retry : undefined;
      const path = req.url ?? '/';
      const tried = new Set<string>([ep.pod]);
      const retried: string[] = [];
      let target = ep;
      let o: Outcome;
      for (;;) {
        o = target.h2 && !stick ? await h2Attempt(target, path) : await http1Attempt(target, stick ? stick.agent : target.agent, path);
        const reason = failReason(o);
        if (reason && retry && retried.length < retry.numRetries && retriable(retry, reason)) {
          const next = retryHost(client, tried);
          if (next) {
            retried.push(reason);
            await backoff(retry, retried.length);
            tried.add(next.pod);
            target = next;
            continue;
          }
        }
        break;
      }
      const reason = failReason(o);
      countRetries(retried, !reason);
      record(!reason, reason, target.pod);
      if (!o.ok) {
        if (stick) {
          // An L4 path: the client's own connection to the pod was reset or refused with it.
          sticky.delete(req.socket);
          res.shouldKeepAlive = false;
        }
        res.writeHead(502, { 'x-md-fail': o.reason, 'x-md-pod': target.pod, 'content-length': 0 });
        res.end();
        return;
      }
      // A full body with Content-Length: siege 4.0.7 stalls on chunked keep-alive responses.
      const h: http.OutgoingHttpHeaders = { 'content-type': 'text/plain', 'content-length': o.body.length, 'x-md-pod': target.pod };
      if (reason) h['x-md-fail'] = reason;
      if (stick && o.close) {
        // The server closed this client's connection (a draining Envoy's `connection: close`): the
        // client reconnects, and kube-proxy sends the new connection to a current endpoint.
        h.connection = 'close';
        sticky.delete(req.socket);
      }
      res.writeHead(o.status, h);
      res.end(o.body);
    })();
  });
  server.keepAliveTimeout = 3_600_000;
  server.on('connection', (s) => clientOf.set(s, conns++ % clients.length));
  // WebSocket (ADR 076): the upgrade is one request, routed like any other (round robin over this
  // client's endpoints); the connection then stays with that pod (Envoy keeps an upgraded stream on
  // its upstream; a host removed by EDS keeps it too). The balancer sees connections, not messages:
  // it counts upgrades; the load counts messages.
  server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
    const client = clients[clientOf.get(req.socket) ?? 0]!;
    const ep = client.endpoints.length ? client.endpoints[client.rr++ % client.endpoints.length] : undefined;
    if (!ep) {
      record(false, 'no-endpoint', '');
      socket.end('HTTP/1.1 503 Service Unavailable\r\nx-md-fail: no-endpoint\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    void tunnelUpgrade(req, socket, head, ep.ip, ep.port ?? cfg.appPort, { 'x-md-pod': ep.pod }).then((o) => record(o.ok, o.reason, ep.pod));
  });
  await listen(server, cfg.port, '0.0.0.0');
  // gRPC (ADR 076): an h2c listener; each call is routed per request like Envoy's HTTP/2 upstream pool
  // and counted by its grpc-status (a client's own cancel is the client's to count).
  // One grpc-js channel is one connection: its calls take turns over the clients (each a client proxy's view).
  let grpcTurn = 0;
  const grpcFront = h2Server((stream, headers) => {
    const client = clients[grpcTurn++ % clients.length]!;
    const ep = client.endpoints.length ? client.endpoints[client.rr++ % client.endpoints.length] : undefined;
    if (!ep?.h2) {
      record(false, 'no-endpoint', '');
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'no healthy upstream' }, { endStream: true });
      return;
    }
    const retry = cfg.retry && client.kind === 'mesh' ? { policy: cfg.retry, next: (tried: ReadonlySet<string>) => {
      const e = retryHost(client, tried);
      return e?.h2 ? { pool: e.h2, name: e.pod } : undefined;
    } } : undefined;
    void forwardGrpcStream(stream, headers, { pool: ep.h2, name: ep.pod }, retry).then((o) => {
      if (o.cancelled) return;
      countRetries(o.retried ?? [], o.ok);
      record(o.ok, o.reason, o.target || ep.pod);
    });
  });
  await listenH2(grpcFront.server, BALANCER_GRPC_PORT, '0.0.0.0');
  ev('balancer-ready');
  // From the node's own address, as the kubelet probes (ambient lets it past ztunnel).
  const probe = async (ip: string, probes: Probe[]) => {
    for (const p of probes) {
      if (p.grpc) {
        if (!(await grpcReady(`http://${ip}:${p.port}`, 500, cfg.probeSource))) return false;
        continue;
      }
      if (p.h2) {
        const pool = new H2Pool(`http://${ip}:${p.port}`, { localAddress: cfg.probeSource } as never);
        const r = await h2Request(pool, { ':path': p.path }, 500);
        pool.destroy();
        if (r.error !== undefined || !('status' in r) || r.status !== 200) return false;
        continue;
      }
      const r = await request({ host: ip, port: p.port, path: p.path, timeout: 500, agent: false, localAddress: cfg.probeSource });
      if (r.error || r.status !== 200) return false;
    }
    return true;
  };
  const handle = async (m: Command) => {
    if (m.op === 'set') {
      const targets = m.client === undefined ? clients : clients[m.client] ? [clients[m.client]!] : [];
      const next: Endpoint[] = [];
      for (const e of m.endpoints) {
        let agent = agents.get(e.pod);
        if (!agent) agents.set(e.pod, (agent = new http.Agent({ keepAlive: true, maxSockets: 64 })));
        let h2 = pools.get(e.pod);
        if (e.h2 && !h2) pools.set(e.pod, (h2 = new H2Pool(`http://${e.ip}:${e.port ?? cfg.appPort}`)));
        next.push({ pod: e.pod, ip: e.ip, ...(e.port !== undefined ? { port: e.port } : {}), agent, ...(e.h2 && h2 ? { h2 } : {}) });
      }
      for (const c of targets) c.endpoints = next;
      // Like Envoy draining the connection pool of a host removed by EDS (cluster_manager_impl.cc
      // ClusterEntry::drainConnPools → DrainAndDelete; conn_pool_base.cc drainConnectionsImpl closes the
      // idle clients now, and checkForIdleAndCloseIdleConnsIfDraining closes each busy one as soon as its
      // stream ends): idle sockets close now, a busy one when its request is done (an agent without
      // keep-alive destroys a socket when it is freed), none stays pooled (ADR 018). The 2 s destroy
      // bounds a request that never ends (none lasts 2 s here).
      // A host leaves the shared pools once no client routes to it any more.
      const keep = new Set(clients.flatMap((c) => c.endpoints.map((e) => e.pod)));
      for (const [pod, agent] of agents) {
        if (keep.has(pod)) continue;
        agents.delete(pod);
        (agent as http.Agent & { keepAlive: boolean }).keepAlive = false;
        for (const list of Object.values(agent.freeSockets)) for (const sock of list ?? []) sock.destroy();
        setTimeout(() => agent.destroy(), 2000);
      }
      // An h2 host removed by EDS: its session is closed gracefully (in-flight streams finish).
      for (const [pod, pool] of pools) {
        if (keep.has(pod)) continue;
        pools.delete(pod);
        pool.close();
      }
      ev('endpoints', { id: m.id, n: next.length });
    } else if (m.op === 'probe') {
      ev('probe', { id: m.id, ok: await probe(m.ip, m.probes) });
    } else if (m.op === 'count') {
      ev('count', { id: m.id, requests: stats.requests });
    } else if (m.op === 'stats') {
      ev('stats', { id: m.id, stats });
      if (m.reset) stats = fresh();
    }
  };
  stdinCommands<Command>((m) => void handle(m));
}

/**
 * Bounded concurrent keep-alive clients against the balancer; `stop` on stdin ends them. grpc: a
 * grpc-js channel with unary callers and Watch streams (its own client, reconnecting after GOAWAY);
 * websocket: long-lived `ws` connections, one message every messageIntervalMs each (ADR 076).
 */
export async function load(cfg: LoadConfig): Promise<void> {
  if (cfg.protocol === 'grpc' || cfg.protocol === 'websocket') return protocolLoad(cfg);
  return httpLoad(cfg);
}

async function protocolLoad(cfg: LoadConfig): Promise<void> {
  const run: ProtocolLoad =
    cfg.protocol === 'grpc'
      ? startGrpcLoad({ host: cfg.target, port: BALANCER_GRPC_PORT }, { concurrency: cfg.concurrency, streams: cfg.streams ?? 5, maxMs: cfg.maxMs, ...(cfg.bucketMs ? { bucketMs: cfg.bucketMs } : {}) })
      : startWsLoad({ host: cfg.target, port: cfg.port }, { connections: cfg.concurrency, intervalMs: cfg.messageIntervalMs ?? 20, maxMs: cfg.maxMs, podHeader: 'x-md-pod', ...(cfg.bucketMs ? { bucketMs: cfg.bucketMs } : {}) });
  let stopping = false;
  ev('load-start');
  stdinLines((line) => {
    if (line.trim() === 'stop') {
      if (stopping) return;
      stopping = true;
      void run.stop().then((t) => ev('load-done', { requests: t.requests, failed: t.failed, reasons: t.reasons, ...(t.cut !== undefined ? { cut: t.cut } : {}), ...(t.buckets ? { buckets: t.buckets, failures: t.failures } : {}) }));
      return;
    }
    let m: { op?: string; id?: number };
    try {
      m = JSON.parse(line) as typeof m;
    } catch {
      return;
    }
    if (m.op === 'count') ev('count', { id: m.id, requests: run.count() });
  });
}

async function httpLoad(cfg: LoadConfig): Promise<void> {  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.concurrency });
  let stop = false;
  let requests = 0;
  let failed = 0;
  const reasons: Record<string, number> = {};
  const deadline = now() + cfg.maxMs;
  stdinLines((line) => {
    if (line.trim() === 'stop') stop = true;
  });
  const one = () =>
    new Promise<string>((resolve) => {
      const req = http.get({ host: cfg.target, port: cfg.port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? '' : String(res.headers['x-md-fail'] ?? res.statusCode)));
        res.on('error', (e) => resolve('client-' + reasonOf(e)));
      });
      req.setTimeout(10_000, () => req.destroy(timeoutError()));
      req.on('error', (e) => resolve('client-' + reasonOf(e)));
    });
  const worker = async () => {
    while (!stop && now() < deadline && requests < cfg.maxRequests) {
      requests++;
      const r = await one();
      if (r) {
        failed++;
        reasons[r] = (reasons[r] ?? 0) + 1;
      }
    }
  };
  ev('load-start');
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  ev('load-done', { requests, failed, reasons });
  agent.destroy();
}
