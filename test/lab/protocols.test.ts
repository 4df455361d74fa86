import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { startEchoServer, startGrpcLoad } from '../../src/lab/protocols/grpc.js';
import { drainSession, h2loadArgv, parseH2loadReport, startH2Load, startH2Server } from '../../src/lab/protocols/http2.js';
import { startWsLoad, startWsServer } from '../../src/lab/protocols/websocket.js';
import { needTools } from '../helpers/tools.js';

// Real sockets on loopback only; every load loop is bounded (maxMs) and stopped; every server closed.
const HOST = '127.0.0.1';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function h2Server() {
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = await startH2Server(HOST, 0);
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const port = (server.address() as { port: number }).port;
  const exit = () => {
    server.close();
    for (const s of sessions) s.destroy();
  };
  cleanups.push(exit);
  return { server, port, sessions, exit };
}

describe('http2 (h2c): GOAWAY on drain as Envoy does it', () => {
  it('a drained server that stays up loses nothing for a client that retries streams racing the GOAWAY', async () => {
    const { port, sessions } = await h2Server();
    const load = startH2Load({ host: HOST, port }, { concurrency: 8, maxMs: 10_000, retryUnprocessed: true });
    await pause(300);
    // Envoy's HCM drain_timeout defaults to 5 s; 1.5 s here leaves room for a loaded event loop.
    for (const s of sessions) drainSession(s, 1500);
    await pause(2000);
    const t = await load.stop();
    expect(t.requests).toBeGreaterThan(50);
    expect(t.reasons).toEqual({});
  });

  it('a proxy that exits while clients still come fails their streams', async () => {
    const { port, exit } = await h2Server();
    const load = startH2Load({ host: HOST, port }, { concurrency: 8, maxMs: 10_000 });
    await pause(300);
    exit();
    await pause(200);
    const t = await load.stop();
    expect(t.failed).toBeGreaterThan(0);
    expect(Object.keys(t.reasons).length).toBeGreaterThan(0);
  });

  it('parses h2load summaries; 4xx/5xx count as failed', () => {
    // Captured from Debian 12's h2load (nghttp2 1.52) against the lab's h2c server: 40 in flight at the end are not failures.
    const real = readFileSync(new URL('../../fixtures/lab/h2load-1.52-report.txt', import.meta.url), 'utf8');
    expect(parseH2loadReport(real)).toEqual({ requests: 620, failed: 0, reasons: {} });
    const text = 'requests: 200 total, 200 started, 200 done, 185 succeeded, 15 failed, 12 errored, 1 timeout\nstatus codes: 180 2xx, 0 3xx, 0 4xx, 5 5xx\n';
    expect(parseH2loadReport(text)).toEqual({ requests: 200, failed: 20, reasons: { errored: 12, timeout: 1, failed: 2, '4xx/5xx': 5 } });
    expect(() => parseH2loadReport('h2load: command not found')).toThrow(/no summary/);
  });

  describe("Debian's h2load", () => {
    needTools('h2load');
    it("against the lab's h2c server", async () => {
      const { port } = await h2Server();
      const r = await new Promise<string>((resolve) => {
        const argv = h2loadArgv(`http://${HOST}:${port}/`, 4, 10, 1);
        const child = spawn(argv[0]!, argv.slice(1));
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d));
        child.on('close', () => resolve(out));
      });
      const t = parseH2loadReport(r);
      expect(t.requests).toBeGreaterThan(10);
      expect(t.failed).toBe(0);
    }, 20_000);
  });
});

describe('grpc (@grpc/grpc-js): non-OK status and unclean stream ends count as failed', () => {
  async function server() {
    const s = await startEchoServer(HOST, 0, 50);
    cleanups.push(() => s.server.forceShutdown());
    return s;
  }
  it('unary + server-streaming with no shutdown: 0 failed (our own cancel at the end is not a failure)', async () => {
    const s = await server();
    const load = startGrpcLoad({ host: HOST, port: s.port }, { concurrency: 4, streams: 2, maxMs: 10_000 });
    await pause(500);
    const t = await load.stop();
    expect(t.requests).toBeGreaterThan(2);
    expect(t.failed).toBe(0);
  });
  it("the app's clean close ends streams with OK: not failed", async () => {
    const s = await server();
    const load = startGrpcLoad({ host: HOST, port: s.port }, { concurrency: 1, streams: 3, maxMs: 10_000 });
    await pause(300);
    s.closeStreams();
    await pause(100);
    const t = await load.stop();
    expect(t.failed).toBe(0);
  });
  it('a server gone mid-call (proxy exit) fails unary calls and streams (UNAVAILABLE counted)', async () => {
    const s = await server();
    const load = startGrpcLoad({ host: HOST, port: s.port }, { concurrency: 4, streams: 2, maxMs: 10_000, deadlineMs: 1000 });
    await pause(300);
    s.server.forceShutdown();
    await pause(300);
    const t = await load.stop();
    expect(t.failed).toBeGreaterThan(2);
    expect(Object.keys(t.reasons).some((r) => /UNAVAILABLE/.test(r))).toBe(true);
    expect(Object.keys(t.reasons).some((r) => r.startsWith('stream '))).toBe(true);
  });
});

describe('websocket (ws): each message is a request; cut connections are reported', () => {
  async function server() {
    const s = await startWsServer(HOST, 0);
    cleanups.push(() => s.stop());
    return s;
  }
  it('no shutdown: every message answered, nothing cut', async () => {
    const s = await server();
    const load = startWsLoad({ host: HOST, port: s.port }, { connections: 4, intervalMs: 20, maxMs: 10_000 });
    await pause(400);
    const t = await load.stop();
    expect(t.requests).toBeGreaterThan(4);
    expect(t).toMatchObject({ failed: 0, cut: 0 });
  });
  it("the app's close frame (1001) is not a cut", async () => {
    const s = await server();
    const load = startWsLoad({ host: HOST, port: s.port }, { connections: 4, intervalMs: 20, maxMs: 10_000 });
    await pause(300);
    s.closeAll();
    await pause(300);
    const t = await load.stop();
    expect(t).toMatchObject({ failed: 0, cut: 0 });
  });
  it('a tunnel cut before the app closed it (proxy exit) counts as cut and failed', async () => {
    const s = await server();
    const load = startWsLoad({ host: HOST, port: s.port }, { connections: 4, intervalMs: 20, maxMs: 10_000 });
    await pause(300);
    for (const c of s.wss.clients) c.terminate();
    await pause(50);
    const t = await load.stop();
    expect(t.cut).toBe(4);
    expect(t.failed).toBeGreaterThanOrEqual(4);
    expect(t.reasons.cut).toBe(4);
  });
});
