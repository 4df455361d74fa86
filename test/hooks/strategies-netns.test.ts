/**
 * http / file / sleep / combined strategies and the distroless shell, run for real in a network
 * namespace under dash, bash and busybox sh.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdExecCommand, renderHoldScript, shellInitCommand } from '../../src/hooks/hold.js';
import { parseStrategy } from '../../src/hooks/strategy.js';
import type { HoldSpec } from '../../src/plan/types.js';
import { istioListeners, Pod, PollClock, rootStatus, SHELLS, HOLDING, sleep, waitForLog, type Listener } from './netns.js';

const root = rootStatus();
/** whileRunning: once the hold logs that it holds, wait `ms`, then close the app's port. */
const closeWhenHolding = (app: Listener, port: number, set: (t: number) => void, ms = 300) => async (log: string) => {
  await waitForLog(log, HOLDING);
  await sleep(ms);
  set(await app.close(port));
};
const hold = (wait: string[], timeoutMs = 20_000): HoldSpec => ({ strategies: wait.map(parseStrategy), timeoutMs, intervalMs: 200 });

describe.runIf(!root.ok && root.required)('strategies in netns (required)', () => {
  it('has root and ip netns', () => {
    throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but ${root.reason}`);
  });
});

describe.skipIf(!root.ok)('strategies against a real pod-like namespace', () => {
  let pod: Pod;
  let clock: PollClock;
  let bins: Record<string, string>;
  beforeAll(async () => {
    pod = Pod.create('s');
    clock = new PollClock(pod);
    await istioListeners(pod);
    bins = {
      none: pod.binDir({ sleep: '/usr/bin/sleep' }),
      curl: pod.binDir({ sleep: '/usr/bin/sleep', curl: '/usr/bin/curl' }),
      'busybox-wget': pod.binDir({ sleep: '/usr/bin/sleep', wget: '/usr/bin/busybox' }),
      'gnu-wget': pod.binDir({ sleep: '/usr/bin/sleep', wget: '/usr/bin/wget' }),
    };
  });
  afterAll(() => pod?.destroy());

  const URL_PATH = '/healthz?probe=1&x=a%20b';
  for (const [label, shell] of SHELLS) {
    describe(label, () => {
      for (const client of ['curl', 'busybox-wget', 'gnu-wget', 'none'] as const) {
        it(`http= with ${client}: held while the URL answers, released within 0.5 s after the app closes`, async () => {
          const app = await pod.listen('app', [{ port: 8080, host: '127.0.0.1', http: true }]);
          let closed = 0;
          try {
            const url = `http://127.0.0.1:8080${URL_PATH}`;
            const run = await pod.runHook(shell, renderHoldScript(hold([`http=${url}`])), {
              path: bins[client]!,
              whileRunning: closeWhenHolding(app, 8080, (t) => (closed = t)),
            });
            expect(run.code).toBe(0);
            expect(run.exitAt - closed).toBeGreaterThanOrEqual(0);
            await clock.expectWithin(run.exitAt - closed, 'released after the close', client === 'none' ? 0 : 300);
            if (client === 'none') {
              expect(run.log).toMatch(/no curl or wget: http=\S+ falls back to "port 8080 still listens"/);
              expect(app.requests).toEqual([]);
            } else if (/wget crashed/.test(run.log)) {
              // Debian's busybox 1.35 wget segfaults with -T: the hold must notice and fall back, not trust it.
              expect(client).toBe('busybox-wget');
              expect(run.log).toMatch(/wget crashed \(status 139\): http=\S+ falls back to "port 8080 still listens"/);
            } else {
              // The URL reached the server whole: '&' and '%' stayed inside the quotes.
              expect(app.requests.length).toBeGreaterThan(0);
              expect(new Set(app.requests)).toEqual(new Set(['/healthz?probe=1&x=a%20b']));
            }
          } finally {
            await app.kill();
          }
        });
      }

      it('http= to a non-loopback URL without any HTTP client: says so, timed hold until the timeout', async () => {
        const run = await pod.runHook(shell, renderHoldScript(hold(['http=http://192.0.2.7:8080/ready'], 1000)), { path: bins.none! });
        expect(run.code).toBe(0);
        expect(run.exitAt - run.startAt).toBeGreaterThanOrEqual(1000);
        expect(run.log).toMatch(/no curl or wget: http=http:\/\/192\.0\.2\.7:8080\/ready falls back to a timed hold/);
        expect(run.log).toMatch(/end: timeout 1s reached while still held by: http=http:\/\/192\.0\.2\.7:8080\/ready\(timed\)/);
      });

      it('file=: held while the marker exists, released within 0.5 s after it is removed', async () => {
        const dir = join(pod.dir, `shared-${label}`);
        mkdirSync(dir, { recursive: true });
        const marker = join(dir, 'busy');
        writeFileSync(marker, '');
        let removedAt = 0;
        const run = await pod.runHook(shell, renderHoldScript(hold([`file=${marker}`])), {
          path: bins.none!,
          whileRunning: async (log) => {
            await waitForLog(log, HOLDING);
            await sleep(300);
            removedAt = Date.now();
            unlinkSync(marker);
          },
        });
        expect(run.code).toBe(0);
        expect(run.exitAt - removedAt).toBeGreaterThanOrEqual(0);
        await clock.expectWithin(run.exitAt - removedAt, 'released after the close');
        expect(run.log).toMatch(/file=\S+busy: holding/);
      });

      it('sleep=: holds at least that long and not much longer', async () => {
        const run = await pod.runHook(shell, renderHoldScript(hold(['sleep=700ms'])), { path: bins.none! });
        const took = run.exitAt - run.startAt;
        expect(took).toBeGreaterThanOrEqual(700);
        await clock.expectWithin(took - 700, 'sleep=700ms overshoot');
      });

      it('combined: held while ANY strategy holds (file removed first, app closes last)', async () => {
        const marker = join(pod.dir, `marker-${label}`);
        writeFileSync(marker, '');
        const app = await pod.listen('app', [{ port: 8080 }]);
        let closed = 0;
        try {
          const run = await pod.runHook(shell, renderHoldScript(hold(['app-listeners', `file=${marker}`])), {
            path: bins.none!,
            whileRunning: async (log) => {
              await waitForLog(log, /file=\S+: holding/);
              await sleep(200);
              unlinkSync(marker);
              await waitForLog(log, /file=\S+: released/);
              await sleep(300);
              closed = await app.close(8080);
            },
          });
          expect(run.exitAt - closed).toBeGreaterThanOrEqual(0);
          await clock.expectWithin(run.exitAt - closed, 'released after the close');
          const fileReleased = run.log.indexOf(`file=${marker}: released`);
          const end = run.log.indexOf('end: nothing holds');
          expect(fileReleased).toBeGreaterThan(0);
          expect(end).toBeGreaterThan(fileReleased);
        } finally {
          await app.kill();
        }
      });
    });
  }

  it('distroless: a static busybox copied by the init command runs the preStop with an empty PATH', async () => {
    const mount = join(pod.dir, 'meshdrain-shell');
    mkdirSync(mount);
    const shell = { kind: 'init-container' as const, image: 'busybox:1.36-musl', mountPath: mount };
    const init = shellInitCommand(shell);
    const r = spawnSync(init[0]!, init.slice(1), { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const a of ['busybox', 'sh', 'sleep', 'date', 'wget', 'cat']) expect(existsSync(join(mount, a))).toBe(true);

    const app = await pod.listen('app', [{ port: 8080 }]);
    let closed = 0;
    try {
      const argv = holdExecCommand(hold(['app-listeners']), shell);
      expect(argv[0]).toBe(`${mount}/sh`);
      // Nothing on PATH: sleep and date must come from the copied busybox.
      const run = await pod.runArgv(argv, { path: '/nonexistent', whileRunning: closeWhenHolding(app, 8080, (t) => (closed = t)) });
      expect(run.code).toBe(0);
      expect(run.exitAt - closed).toBeGreaterThanOrEqual(0);
      await clock.expectWithin(run.exitAt - closed, 'released after the close');
      expect(run.log).not.toMatch(/no sleep command/);
      expect(run.log).toMatch(/^meshdrain-hold \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /m); // busybox date found
    } finally {
      await app.kill();
    }
  });

  it('http= to an IPv6 loopback URL ([::1]) with curl', async () => {
    const app = await pod.listen('app', [{ port: 8080, host: '::1', ipv6Only: true, http: true }]);
    let closed = 0;
    try {
      const run = await pod.runHook(['/usr/bin/dash'], renderHoldScript(hold(['http=http://[::1]:8080/ready'])), {
        path: bins.curl!,
        whileRunning: closeWhenHolding(app, 8080, (t) => (closed = t)),
      });
      expect(run.exitAt - closed).toBeGreaterThanOrEqual(0);
      await clock.expectWithin(run.exitAt - closed, 'released after the close', 300);
      expect(app.requests).toContain('/ready');
    } finally {
      await app.kill();
    }
  });

  it('no sleep on PATH at all: says so and still holds for the whole wait, timed by /proc/uptime', async () => {
    const app = await pod.listen('app', [{ port: 8080 }]);
    let closed = 0;
    try {
      const run = await pod.runHook(['/usr/bin/dash'], renderHoldScript(hold(['app-listeners'])), {
        path: '/nonexistent',
        whileRunning: closeWhenHolding(app, 8080, (t) => (closed = t)),
      });
      expect(run.log).toMatch(/no sleep command: polling without pause/);
      expect(run.exitAt - closed).toBeGreaterThanOrEqual(0);
      await clock.expectWithin(run.exitAt - closed, 'released after the close');
    } finally {
      await app.kill();
    }
  });
});
