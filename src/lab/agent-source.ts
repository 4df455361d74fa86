/**
 * The programs that run inside the lab's namespaces, as one self-contained ES module with roles:
 * envoy, pilot-agent (and its `request` subcommand), app, external, balancer, load.
 * Kept as text so it can be copied to a world-readable temp directory (UID 1337 cannot read a
 * checkout under /root) and run by plain `node`, from src/ under vitest or from dist/ alike.
 * Every role exits when its stdin closes, so a crashed lab leaves no orphans behind.
 * Rules for this text: no backticks, no dollar-brace (it sits inside a template literal).
 */
export const AGENT_SOURCE = String.raw`// meshdrain lab agent: a copy written by meshdrain lab; see src/lab/agent-source.ts
import http from 'node:http';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const role = process.argv[2];
const cfgArg = process.argv[3];
const cfg = cfgArg && cfgArg.charAt(0) === '{' ? JSON.parse(cfgArg) : {};
const now = () => Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (o) => { try { process.stdout.write(JSON.stringify(o) + '\n'); } catch (e) { /* lab gone */ } };
const ev = (name, extra) => out(Object.assign({ ev: name, t: now() }, extra || {}));
function stdinLines(onLine) {
  const rl = createInterface({ input: process.stdin });
  if (onLine) rl.on('line', onLine);
  rl.on('close', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}
function reasonOf(e) {
  const c = e && e.code;
  if (c === 'ECONNREFUSED') return 'refused';
  if (c === 'ETIMEDOUT' || c === 'ESOCKETTIMEDOUT') return 'timeout';
  if (c === 'ECONNRESET' || c === 'EPIPE' || (e && /socket hang up/.test(String(e.message)))) return 'reset';
  return c ? String(c).toLowerCase() : 'error';
}
function listen(server, port, host) {
  return new Promise((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve()); });
}
function request(opts, body) {
  return new Promise((resolve) => {
    const req = http.request(opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      res.on('error', (e) => resolve({ error: e }));
    });
    req.on('error', (e) => resolve({ error: e }));
    if (opts.timeout) req.setTimeout(opts.timeout, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.end(body);
  });
}
function stripHop(h) {
  const c = Object.assign({}, h);
  delete c.connection; delete c['keep-alive']; delete c['transfer-encoding']; delete c['proxy-connection'];
  return c;
}

// ---- envoy: inbound 15006 -> app, outbound 15001 -> Host header, admin 15000, prometheus 15090.
async function envoy() {
  let draining = false;
  const active = { inbound: 0, outbound: 0 };
  const appAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const countConns = (server, key) => server.on('connection', (s) => { active[key]++; s.on('close', () => { active[key]--; }); });
  const upstreamFailure = (res, e, draining) => {
    if (res.headersSent) { res.destroy(); return; }
    const why = e && e.code === 'ECONNREFUSED' ? 'connection failure' : 'connection termination';
    const h = { 'content-type': 'text/plain', 'x-md-envoy': why };
    if (draining) h.connection = 'close';
    res.writeHead(503, h);
    res.end('upstream connect error or disconnect/reset before headers. reset reason: ' + why + '\n');
  };
  const inbound = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: cfg.appPort, method: req.method, path: req.url, headers: stripHop(req.headers), agent: appAgent }, (ur) => {
      const h = stripHop(ur.headers);
      // Envoy's graceful drain (--drain-strategy immediate): keep accepting, ask every client to go.
      if (draining) h.connection = 'close';
      res.writeHead(ur.statusCode, h);
      ur.pipe(res);
      ur.on('error', () => res.destroy());
    });
    up.on('error', (e) => upstreamFailure(res, e, draining));
    req.pipe(up);
  });
  inbound.keepAliveTimeout = 3600000;
  countConns(inbound, 'inbound');
  const outbound = http.createServer((req, res) => {
    const hp = String(req.headers.host || '').split(':');
    const up = http.request({ host: hp[0], port: Number(hp[1] || 80), method: req.method, path: req.url, headers: stripHop(req.headers), agent: false }, (ur) => {
      res.writeHead(ur.statusCode, stripHop(ur.headers));
      ur.pipe(res);
    });
    up.on('error', (e) => upstreamFailure(res, e, false));
    req.pipe(up);
  });
  countConns(outbound, 'outbound');
  const admin = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://localhost');
    if (u.pathname === '/drain_listeners' && req.method === 'POST') {
      draining = true; ev('envoy-drain', { query: u.search }); res.end('OK\n'); return;
    }
    if (u.pathname === '/stats') {
      res.end('listener.0.0.0.0_15006.downstream_cx_active: ' + active.inbound + '\nlistener.0.0.0.0_15001.downstream_cx_active: ' + active.outbound + '\n');
      return;
    }
    if (u.pathname === '/quitquitquit' && req.method === 'POST') { res.end('OK\n'); setTimeout(() => process.exit(0), 10); return; }
    if (u.pathname === '/ready') { res.writeHead(draining ? 503 : 200); res.end(draining ? 'DRAINING\n' : 'LIVE\n'); return; }
    res.writeHead(404); res.end();
  });
  const prom = http.createServer((req, res) => { res.end('envoy_cluster_upstream_cx_active 0\n'); });
  await listen(inbound, 15006, '0.0.0.0');
  await listen(outbound, 15001, '0.0.0.0');
  await listen(admin, 15000, '127.0.0.1');
  await listen(prom, 15090, '0.0.0.0');
  ev('envoy-ready');
  stdinLines(null);
}

// ---- pilot-agent: PID 1 of istio-proxy; starts envoy, health on 15020/15021, shutdown sequence.
async function pilotAgent() {
  const envoyProc = spawn(cfg.envoyBin, [process.argv[1], 'envoy', JSON.stringify(cfg)], { stdio: ['pipe', 'inherit', 'inherit'] });
  envoyProc.on('exit', () => { ev('envoy-exit'); process.exit(0); });
  let terminating = false;
  const envoyReady = async () => { const r = await request({ host: '127.0.0.1', port: 15000, path: '/ready', timeout: 500 }); return !r.error && r.status === 200; };
  const drainEnvoy = () => request({ host: '127.0.0.1', port: 15000, method: 'POST', path: '/drain_listeners?inboundonly&graceful', timeout: 1000 });
  const status = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://localhost');
    if (u.pathname === '/healthz/ready') { const ok = await envoyReady(); res.writeHead(ok ? 200 : 503); res.end(); return; }
    if (u.pathname.indexOf('/app-health/') === 0) {
      const r = await request({ host: '127.0.0.1', port: cfg.appPort, path: '/ready', timeout: 500 });
      res.writeHead(r.error ? 503 : r.status); res.end(); return;
    }
    if (u.pathname === '/quitquitquit' && req.method === 'POST') { res.end('OK\n'); ev('quitquitquit'); envoyProc.kill('SIGKILL'); return; }
    if (u.pathname === '/drain' && req.method === 'POST') { await drainEnvoy(); ev('agent-drain'); res.end('OK\n'); return; }
    res.writeHead(404); res.end();
  });
  const health = http.createServer(async (req, res) => { const ok = await envoyReady(); res.writeHead(ok ? 200 : 503); res.end(); });
  await listen(status, 15020, '0.0.0.0');
  await listen(health, 15021, '0.0.0.0');
  process.on('SIGTERM', async () => {
    if (terminating) return;
    terminating = true;
    ev('agent-sigterm');
    await drainEnvoy();
    if (cfg.exitOnZero) {
      await sleep(cfg.minimumDrainMs);
      for (;;) {
        const r = await request({ host: '127.0.0.1', port: 15000, path: '/stats?usedonly&filter=downstream_cx_active$', timeout: 1000 });
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
  });
  stdinLines(null);
}

// ---- pilot-agent request [--debug-port=P] METHOD PATH (what the native-sidecar preStop runs).
async function pilotAgentRequest(args) {
  let port = 15000;
  const rest = [];
  for (const a of args) { const m = /^--debug-port=(\d+)$/.exec(a); if (m) port = Number(m[1]); else rest.push(a); }
  const method = rest[0] || 'GET';
  const path = '/' + String(rest[1] || '').replace(/^\//, '');
  const r = await request({ host: '127.0.0.1', port, method, path, timeout: 2000 });
  if (r.error) { process.stderr.write('pilot-agent request: ' + r.error.message + '\n'); process.exit(1); }
  process.stdout.write(r.text);
  process.exit(r.status >= 200 && r.status < 300 ? 0 : 1);
}

// ---- app: serves on appPort and metrics on metricsPort. On SIGTERM it does its shutdown work
// (calls the external service for shutdownWorkMs every egressIntervalMs, recording each outcome)
// while still answering requests that reach it, then exits. With closeOnSigterm it first stops
// accepting on appPort and finishes in-flight requests (server.close() at SIGTERM).
async function app() {
  let terminating = false;
  let inflight = 0;
  let served = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/ready') { res.writeHead(terminating ? 503 : 200); res.end(); return; }
    inflight++; served++;
    res.on('close', () => { inflight--; });
    const h = { 'content-type': 'text/plain' };
    if (terminating) h.connection = 'close';
    res.writeHead(200, h);
    res.end('hello from ' + cfg.pod + '\n');
  });
  server.keepAliveTimeout = 3600000;
  const metrics = http.createServer((req, res) => { res.end('app_requests_total ' + served + '\n'); });
  await listen(server, cfg.appPort, '0.0.0.0');
  await listen(metrics, cfg.metricsPort, '0.0.0.0');
  ev('app-ready');
  process.on('SIGTERM', async () => {
    if (terminating) return;
    terminating = true;
    ev('app-sigterm');
    if (cfg.closeOnSigterm) {
      // Like server.close() at SIGTERM: stop accepting, finish in-flight, then do the shutdown work.
      server.close();
      server.closeIdleConnections();
      const t0 = now();
      while (inflight > 0 && now() - t0 < 2000) await sleep(5);
      ev('app-closed-port', { inflight });
    }
    const end = now() + cfg.shutdownWorkMs;
    let n = 0;
    while (now() < end) {
      const started = now();
      n++;
      const r = await request({ host: cfg.externalIp, port: cfg.externalPort, path: '/call?pod=' + encodeURIComponent(cfg.pod) + '&n=' + n, agent: false, timeout: 1000 });
      const ok = !r.error && r.status === 200;
      out({ ev: 'egress', t: started, ok, reason: ok ? '' : (r.error ? reasonOf(r.error) : String(r.status)) });
      const wait = cfg.egressIntervalMs - (now() - started);
      if (wait > 0) await sleep(wait);
    }
    // Listeners close with the process (the HTTP server is the last thing to stop).
    ev('app-exit');
    server.close();
    server.closeAllConnections();
    metrics.close();
    process.exit(0);
  });
  stdinLines(null);
}

// ---- external: the service outside the pod the app calls during shutdown.
async function external() {
  let calls = 0;
  const s = http.createServer((req, res) => { calls++; res.end('ok ' + calls + '\n'); });
  await listen(s, cfg.externalPort, '0.0.0.0');
  ev('external-ready');
  stdinLines(null);
}

// ---- balancer: Service-like, per-request round robin over ready endpoints; probes for the kubelet.
async function balancer() {
  const endpoints = [];
  const agents = new Map();
  let rr = 0;
  let stats;
  const reset = () => { stats = { requests: 0, failed: 0, reasons: {}, buckets: {}, failures: [] }; };
  reset();
  const record = (ok, reason, pod) => {
    const t = now();
    stats.requests++;
    const k = Math.floor(t / cfg.bucketMs);
    const b = stats.buckets[k] || (stats.buckets[k] = [0, 0]);
    if (ok) { b[0]++; return; }
    b[1]++;
    stats.failed++;
    stats.reasons[reason] = (stats.reasons[reason] || 0) + 1;
    if (stats.failures.length < 20000) stats.failures.push({ t, reason, pod });
  };
  const server = http.createServer((req, res) => {
    req.resume();
    if (endpoints.length === 0) { record(false, 'no-endpoint', ''); res.writeHead(503, { 'x-md-fail': 'no-endpoint', 'content-length': 0 }); res.end(); return; }
    const ep = endpoints[rr++ % endpoints.length];
    let done = false;
    const up = http.request({ host: ep.ip, port: cfg.appPort, method: 'GET', path: req.url, headers: { host: 'app.lab.svc' }, agent: ep.agent }, (ur) => {
      const failed = ur.statusCode >= 500;
      const chunks = [];
      ur.on('data', (d) => chunks.push(d));
      ur.on('error', (e) => up.emit('error', e));
      ur.on('end', () => {
        if (done) return;
        done = true;
        record(!failed, failed ? String(ur.statusCode) : '', ep.pod);
        // A full body with Content-Length: siege 4.0.7 stalls on chunked keep-alive responses.
        const body = Buffer.concat(chunks);
        const h = { 'content-type': 'text/plain', 'content-length': body.length, 'x-md-pod': ep.pod };
        if (failed) h['x-md-fail'] = String(ur.statusCode);
        res.writeHead(ur.statusCode, h);
        res.end(body);
      });
    });
    up.setTimeout(5000, () => up.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    up.on('error', (e) => {
      if (done) return;
      done = true;
      const reason = reasonOf(e);
      record(false, reason, ep.pod);
      if (res.headersSent) { res.destroy(); return; }
      res.writeHead(502, { 'x-md-fail': reason, 'x-md-pod': ep.pod, 'content-length': 0 });
      res.end();
    });
    up.end();
  });
  server.keepAliveTimeout = 3600000;
  await listen(server, cfg.port, '0.0.0.0');
  ev('balancer-ready');
  const probe = async (ip) => {
    const a = await request({ host: ip, port: 15021, path: '/healthz/ready', timeout: 500, agent: false });
    if (a.error || a.status !== 200) return false;
    const b = await request({ host: ip, port: 15020, path: '/app-health/app/readyz', timeout: 500, agent: false });
    return !b.error && b.status === 200;
  };
  stdinLines(async (line) => {
    let m;
    try { m = JSON.parse(line); } catch (e) { return; }
    if (m.op === 'set') {
      endpoints.length = 0;
      for (const e of m.endpoints) {
        if (!agents.has(e.pod)) agents.set(e.pod, new http.Agent({ keepAlive: true, maxSockets: 64 }));
        endpoints.push({ pod: e.pod, ip: e.ip, agent: agents.get(e.pod) });
      }
      // Like Envoy draining the connection pool of a host removed by EDS: idle connections close
      // now, the rest once their in-flight request is done (none lasts 2 s here).
      const keep = new Set(m.endpoints.map((e) => e.pod));
      for (const [pod, agent] of agents) {
        if (keep.has(pod)) continue;
        agents.delete(pod);
        for (const list of Object.values(agent.freeSockets)) for (const sock of list) sock.destroy();
        setTimeout(() => agent.destroy(), 2000);
      }
      ev('endpoints', { id: m.id, n: endpoints.length });
    } else if (m.op === 'probe') {
      ev('probe', { id: m.id, ok: await probe(m.ip) });
    } else if (m.op === 'count') {
      ev('count', { id: m.id, requests: stats.requests });
    } else if (m.op === 'stats') {
      ev('stats', { id: m.id, stats });
      if (m.reset) reset();
    }
  });
}

// ---- load: bounded concurrent keep-alive clients against the balancer.
async function load() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.concurrency });
  let stop = false;
  let requests = 0;
  let failed = 0;
  const reasons = {};
  const deadline = now() + cfg.maxMs;
  stdinLines((line) => { if (line.trim() === 'stop') stop = true; });
  const one = () => new Promise((resolve) => {
    const req = http.get({ host: cfg.target, port: cfg.port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? '' : String(res.headers['x-md-fail'] || res.statusCode)));
      res.on('error', (e) => resolve('client-' + reasonOf(e)));
    });
    req.setTimeout(10000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => resolve('client-' + reasonOf(e)));
  });
  const worker = async () => {
    while (!stop && now() < deadline && requests < cfg.maxRequests) {
      requests++;
      const r = await one();
      if (r) { failed++; reasons[r] = (reasons[r] || 0) + 1; }
    }
  };
  ev('load-start');
  const workers = [];
  for (let i = 0; i < cfg.concurrency; i++) workers.push(worker());
  await Promise.all(workers);
  ev('load-done', { requests, failed, reasons });
  agent.destroy();
}

const roles = { envoy, 'pilot-agent': pilotAgent, app, external, balancer, load };
if (role === 'request') pilotAgentRequest(process.argv.slice(3));
else if (roles[role]) roles[role]().catch((e) => { process.stderr.write(role + ': ' + (e && e.stack || e) + '\n'); process.exit(1); });
else { process.stderr.write('unknown role ' + role + '\n'); process.exit(2); }
`;
