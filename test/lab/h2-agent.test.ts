/**
 * The agent's h2c pieces on loopback (no root): the pool opens a new session after a GOAWAY, so a
 * server that drains the way Envoy does (shutdown notice, final GOAWAY later) and stays up loses no
 * request; a stream on a session the server has gone away from, or a port nothing listens on, fails
 * with the reason the lab reports.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { drainServerSession, H2Pool, h2Request, h2Server, listenH2 } from '../../src/lab/agent/h2.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function server(onStream?: (s: http2.ServerHttp2Stream) => boolean) {
  const h = h2Server((stream) => {
    if (onStream?.(stream)) return;
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await listenH2(h.server, 0, '127.0.0.1');
  closers.push(() => {
    for (const s of h.sessions) s.destroy();
    h.server.close();
  });
  return { ...h, port: (h.server.address() as AddressInfo).port };
}

describe('h2c in the lab agent', () => {
  it('a drained server that stays up loses nothing: the pool moves to a new session after the GOAWAY', async () => {
    const srv = await server();
    const pool = new H2Pool(`http://127.0.0.1:${srv.port}`);
    closers.push(() => pool.destroy());
    const first = await h2Request(pool, { ':path': '/' }, 2000);
    expect(first).toMatchObject({ status: 200 });
    const before = pool.get();
    for (const s of srv.sessions) drainServerSession(s, 50);
    // Wait (bounded) until the client has seen the GOAWAY.
    for (let i = 0; i < 100 && !(before as unknown as { mdGoaway?: boolean }).mdGoaway; i++) await new Promise((r) => setTimeout(r, 10));
    expect((before as unknown as { mdGoaway?: boolean }).mdGoaway).toBe(true);
    const results = await Promise.all(Array.from({ length: 50 }, () => h2Request(pool, { ':path': '/' }, 2000)));
    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
    expect(pool.get()).not.toBe(before);
  });

  it("streams racing the drain's shutdown notice are still processed (Envoy's notice refuses nothing)", async () => {
    const srv = await server();
    const pool = new H2Pool(`http://127.0.0.1:${srv.port}`);
    closers.push(() => pool.destroy());
    expect(await h2Request(pool, { ':path': '/' }, 2000)).toMatchObject({ status: 200 });
    // 50 streams on the wire, and the notice goes out while they are: none may fail.
    const racing = Array.from({ length: 50 }, () => h2Request(pool, { ':path': '/' }, 2000));
    for (const s of srv.sessions) drainServerSession(s, 2000);
    const after = Array.from({ length: 50 }, () => h2Request(pool, { ':path': '/' }, 2000));
    const results = await Promise.all([...racing, ...after]);
    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
  });

  it("a host removed while its session is still connecting: the streams queued on it are served, as Envoy's drained pool serves pending streams (ADR 078)", async () => {
    const srv = await server();
    const pool = new H2Pool(`http://127.0.0.1:${srv.port}`);
    closers.push(() => pool.destroy());
    // The first streams open the session; the removal comes before it is connected.
    const queued = Array.from({ length: 5 }, () => h2Request(pool, { ':path': '/' }, 2000));
    const session = pool.get();
    expect(session.connecting).toBe(true);
    pool.close();
    const results = await Promise.all(queued);
    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
    // Then the session closes: nothing new is opened on it.
    for (let i = 0; i < 100 && !session.closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(session.closed).toBe(true);
  });

  it('a stream given to a drained pool after the removal (its host chosen before) still goes out, and its session then closes', async () => {
    const srv = await server();
    const pool = new H2Pool(`http://127.0.0.1:${srv.port}`);
    closers.push(() => pool.destroy());
    expect(await h2Request(pool, { ':path': '/' }, 2000)).toMatchObject({ status: 200 });
    const before = pool.get();
    pool.close();
    expect(before.closed).toBe(true);
    const reply = h2Request(pool, { ':path': '/' }, 2000);
    const late = pool.get();
    expect(late).not.toBe(before);
    expect(await reply).toMatchObject({ status: 200 });
    for (let i = 0; i < 100 && !late.closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(late.closed).toBe(true);
  });

  it('a stream cut by a server that goes away fails (reset); a port nothing listens on is refused', async () => {
    const srv = await server((stream) => {
      // Take the stream, then the whole server dies before answering (the proxy exits).
      setTimeout(() => stream.session?.destroy(), 20);
      return true;
    });
    const pool = new H2Pool(`http://127.0.0.1:${srv.port}`);
    closers.push(() => pool.destroy());
    const r = await h2Request(pool, { ':path': '/' }, 2000);
    expect(r.error).toBeDefined();
    expect(['reset', 'goaway']).toContain(r.error);
    const port = srv.port;
    srv.server.close();
    for (const s of srv.sessions) s.destroy();
    await new Promise((res) => setTimeout(res, 20));
    const refused = await h2Request(new H2Pool(`http://127.0.0.1:${port}`), { ':path': '/' }, 2000);
    expect(refused).toEqual({ error: 'refused', unprocessed: true });
  });
});
