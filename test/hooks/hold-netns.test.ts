/**
 * The generated hold against real sockets in network namespaces, under dash, bash and busybox sh,
 * with a PATH that holds only `sleep` (no netstat, ss, curl, awk, grep, date).
 * Issue-mandated bounds: never before the app's last listener closes; within 0.5 s after it on an idle
 * machine, relative to the measured poll on a loaded one (PollClock in netns.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHoldScript } from '../../src/hooks/hold.js';
import { parseStrategy } from '../../src/hooks/strategy.js';
import type { HoldSpec } from '../../src/plan/types.js';
import { istioListeners, Pod, PollClock, rootStatus, SHELLS, HOLDING, sleep, waitForLog, type Listener } from './netns.js';

const root = rootStatus();
/** Mix the bound address across listeners: 0.0.0.0, 127.0.0.1 and :: (dual stack, in tcp6). */
const k2host = (port: number): string => ['0.0.0.0', '127.0.0.1', '::'][port % 3]!;

const hold = (wait: string[], timeoutMs = 20_000, intervalMs = 200): HoldSpec => ({
  strategies: wait.map(parseStrategy),
  timeoutMs,
  intervalMs,
});

describe.runIf(!root.ok && root.required)('hold in netns (required)', () => {
  it('has root and ip netns', () => {
    throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but ${root.reason}`);
  });
});

describe.skipIf(!root.ok)('hold against real sockets in a network namespace', () => {
  let pod: Pod;
  let clock: PollClock;
  let onlySleep: string;
  beforeAll(async () => {
    pod = Pod.create('a');
    clock = new PollClock(pod);
    await istioListeners(pod);
    onlySleep = pod.binDir({ sleep: '/usr/bin/sleep' });
  });
  afterAll(() => pod?.destroy());

  /**
   * Start the app, run the hold, and once the hold logs that it is holding, close the app's listeners
   * one by one (300 ms apart). Returns how long after the LAST close the hold ended.
   */
  async function heldUntilClose(shell: readonly string[], listen: Parameters<Pod['listen']>[1], wait = ['app-listeners'], path?: string) {
    const app = await pod.listen('app', listen);
    const closes: number[] = [];
    try {
      const run = await pod.runHook(shell, renderHoldScript(hold(wait)), {
        path: path ?? onlySleep,
        whileRunning: async (log) => {
          await waitForLog(log, HOLDING);
          for (const l of listen) {
            await sleep(300);
            closes.push(await app.close(l.port));
          }
        },
      });
      const lastClose = Math.max(...closes);
      return { run, lastClose, after: run.exitAt - lastClose };
    } finally {
      await app.kill();
    }
  }

  for (const [label, shell] of SHELLS) {
    describe(label, () => {
      it('holds until the last app listener (0.0.0.0 and 127.0.0.1) closes, then releases within 0.5 s; no netstat/ss/curl/date on PATH', async () => {
        const { run, after } = await heldUntilClose(shell, [{ port: 8080 }, { port: 9090, host: '127.0.0.1' }]);
        expect(run.code).toBe(0);
        expect(after).toBeGreaterThanOrEqual(0);
        await clock.expectWithin(after, 'released after the close');
        expect(run.log).toMatch(/start: holding istio-proxy while: app-listeners; timeout 20s, interval 200ms/);
        expect(run.log).toMatch(/app-listeners: holding \(port (8080|9090) listens\)/);
        expect(run.log).toMatch(/end: nothing holds the proxy any more/);
        // no date on PATH: uptime timestamps
        expect(run.log).toMatch(/^meshdrain-hold uptime=\d+s \+\d+\.\d\ds: start/m);
      });

      it('listener churn: 49 of 50 listeners close while it polls every 10 ms; it still waits for the last one', async () => {
        const ports = Array.from({ length: 50 }, (_, k) => 8000 + k);
        const app = await pod.listen('app', ports.map((port) => ({ port, host: k2host(port) })));
        let last = 0;
        try {
          const run = await pod.runHook(shell, renderHoldScript(hold(['app-listeners'], 20_000, 10)), {
            path: onlySleep,
            whileRunning: async (log) => {
              await waitForLog(log, HOLDING);
              for (const p of ports.slice(0, -1)) {
                await app.close(p);
                await sleep(5);
              }
              await sleep(400);
              last = await app.close(ports.at(-1)!);
            },
          });
          expect(run.code).toBe(0);
          expect(run.exitAt - last).toBeGreaterThanOrEqual(0);
          await clock.expectWithin(run.exitAt - last, 'released after the close');
        } finally {
          await app.kill();
        }
      });

      it('sees IPv6-only listeners ([::1] and [::] v6only)', async () => {
        const { run, after } = await heldUntilClose(shell, [
          { port: 8080, host: '::1', ipv6Only: true },
          { port: 8081, host: '::', ipv6Only: true },
        ]);
        expect(run.code).toBe(0);
        expect(after).toBeGreaterThanOrEqual(0);
        await clock.expectWithin(after, 'released after the close');
      });

      it('counts an app on an Istio-like port outside Istio’s list (15030) as the app', async () => {
        const { run, after } = await heldUntilClose(shell, [{ port: 15030 }]);
        expect(after).toBeGreaterThanOrEqual(0);
        await clock.expectWithin(after, 'released after the close');
        expect(run.log).toMatch(/holding \(port 15030 listens\)/);
      });

      it('ports=: waits for the named port only, ignoring other app listeners', async () => {
        const other = await pod.listen('app', [{ port: 7070 }]);
        try {
          const { run, after } = await heldUntilClose(shell, [{ port: 8080 }], ['ports=8080,8443']);
          expect(after).toBeGreaterThanOrEqual(0);
          await clock.expectWithin(after, 'released after the close');
          expect(run.log).toMatch(/ports=8080,8443: released/);
        } finally {
          await other.kill();
        }
      });

      it('honours the timeout while the app never closes: exit 0 at ~timeout, logged', async () => {
        const app = await pod.listen('app', [{ port: 8080 }]);
        try {
          const run = await pod.runHook(shell, renderHoldScript(hold(['app-listeners'], 1200)), { path: onlySleep });
          const took = run.exitAt - run.startAt;
          expect(run.code).toBe(0);
          expect(took).toBeGreaterThanOrEqual(1200);
          await clock.expectWithin(took - 1200, 'past the 1.2 s timeout', 1000);
          expect(run.log).toMatch(/end: timeout 1\.2s reached while still held by: app-listeners;/);
        } finally {
          await app.kill();
        }
      });

      it('app never listened: says so and holds until the timeout (no silent early return)', async () => {
        const run = await pod.runHook(shell, renderHoldScript(hold(['app-listeners'], 1000)), { path: onlySleep });
        expect(run.code).toBe(0);
        expect(run.exitAt - run.startAt).toBeGreaterThanOrEqual(1000);
        expect(run.log).toMatch(/app-listeners: nothing to wait for at start \(no LISTEN socket on a non-Istio port/);
        expect(run.log).toMatch(/end: timeout 1s reached while still held by: app-listeners\(timed\)/);
      });

      it('no /proc at all (tmpfs over /proc): logs to stderr, counts time, holds until the timeout', async () => {
        const app = await pod.listen('app', [{ port: 8080, closeAt: Date.now() + 200 }]);
        try {
          const run = await pod.runHook(shell, renderHoldScript(hold(['app-listeners'], 1000)), {
            path: onlySleep,
            log: false,
            wrap: ['unshare', '--mount', '--', '/bin/sh', '-c', 'mount -t tmpfs none /proc && exec "$@"', 'sh'],
          });
          expect(run.code).toBe(0);
          expect(run.exitAt - run.startAt).toBeGreaterThanOrEqual(1000);
          expect(run.stderr).toMatch(/cannot read \/proc\/uptime: counting polls as time instead/);
          expect(run.stderr).toMatch(/nothing to wait for at start \(cannot read \/proc\/net\/tcp or \/proc\/net\/tcp6\)/);
          expect(run.stderr).toMatch(/end: timeout 1s reached/);
        } finally {
          await app.kill();
        }
      });

      it('/proc/net hidden but the clock readable: timed hold measured by /proc/uptime', async () => {
        const setup = `d=${pod.dir}/proc-${label} && mkdir -p "$d" && mount -t proc proc "$d" && mount -t tmpfs none /proc && : >/proc/uptime && mount --bind "$d/uptime" /proc/uptime && exec "$@"`;
        const run = await pod.runHook(shell, renderHoldScript(hold(['app-listeners'], 1000)), {
          path: onlySleep,
          wrap: ['unshare', '--mount', '--', '/bin/sh', '-c', setup, 'sh'],
        });
        expect(run.code).toBe(0);
        expect(run.exitAt - run.startAt).toBeGreaterThanOrEqual(1000);
        expect(run.log).not.toMatch(/cannot read \/proc\/uptime/);
        expect(run.log).toMatch(/cannot read \/proc\/net\/tcp or \/proc\/net\/tcp6/);
      });

      it('logs to PID 1’s stdout (what kubectl logs shows), not its own stdout', async () => {
        const app = await pod.listen('app', [{ port: 8080 }]);
        try {
          // In a new PID namespace PID 1 is a bash whose stdout is a file (like pilot-agent's container log).
          const pid1 = `exec >"$PID1_OUT"; "$@" >/dev/null 2>&1; echo "hook-rc=$?"`;
          const out = `${pod.dir}/pid1-${label}.txt`;
          const run = await pod.runHook(shell, renderHoldScript(hold(['app-listeners'], 5000)), {
            path: onlySleep,
            log: false,
            wrap: ['/usr/bin/env', `PID1_OUT=${out}`, 'unshare', '--pid', '--fork', '--mount-proc', '/usr/bin/bash', '-c', pid1, 'pid1'],
            whileRunning: async () => {
              await waitForLog(out, HOLDING);
              await app.close(8080);
            },
          });
          const { readFileSync } = await import('node:fs');
          const text = readFileSync(out, 'utf8');
          expect(run.code).toBe(0);
          expect(text).toMatch(/log to \/proc\/1\/fd\/1/);
          expect(text).toMatch(/end: nothing holds the proxy any more/);
          expect(text).toMatch(/hook-rc=0/);
        } finally {
          await app.kill();
        }
      });
    });
  }
});

describe.skipIf(!root.ok)('hold with 10,000 sockets in the namespace', () => {
  let pod: Pod;
  let clock: PollClock;
  let bulk: Listener;
  let onlySleep: string;
  beforeAll(async () => {
    pod = Pod.create('k');
    clock = new PollClock(pod);
    await istioListeners(pod);
    // 5,000 loopback connections held by "envoy" on 15008: 10,000 ESTABLISHED rows in /proc/net/tcp.
    bulk = await pod.listen('envoy', [], { conns: 5000, connPort: 15008 });
    onlySleep = pod.binDir({ sleep: '/usr/bin/sleep' });
  }, 120_000);
  afterAll(() => pod?.destroy());

  it('really has ≥ 10,000 rows in /proc/net/tcp, with the listeners listed first', () => {
    const rows = pod.exec(['cat', '/proc/net/tcp']).stdout.trim().split('\n').slice(1);
    expect(rows.length).toBeGreaterThanOrEqual(10_000);
    const states = rows.map((r) => r.trim().split(/\s+/)[3]);
    const firstOther = states.findIndex((s) => s !== '0A');
    expect(states.slice(firstOther).includes('0A')).toBe(false);
    expect(bulk.proc.exitCode).toBeNull();
  });

  for (const [label, shell] of SHELLS) {
    it(`${label}: holds until the app closes, releases within 0.5 s`, async () => {
      const app = await pod.listen('app', [{ port: 8080 }]);
      let closed = 0;
      try {
        const run = await pod.runHook(shell, renderHoldScript(hold(['app-listeners'])), {
          path: onlySleep,
          whileRunning: async (log) => {
            await waitForLog(log, HOLDING);
            await sleep(300);
            closed = await app.close(8080);
          },
        });
        expect(run.code).toBe(0);
        expect(run.exitAt - closed).toBeGreaterThanOrEqual(0);
        await clock.expectWithin(run.exitAt - closed, 'released after the close');
      } finally {
        await app.kill();
      }
    });
  }
});
