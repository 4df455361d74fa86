/**
 * The app's traffic-gone delay (ADR 014) against real sockets in a network namespace, under dash,
 * bash and busybox sh, with a PATH holding only `sleep`. Bounds: it never ends while an inbound
 * connection is open or less than the quiet window after the last one closed; it ends within the
 * quiet window + 1.5 s after that; never later than the upper bound (+1.5 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAppWaitScript } from '../../src/hooks/app-wait.js';
import { Pod, PEER_IP, POD_IP, rootStatus, SHELLS, sleep, waitForLog, type Listener } from './netns.js';

const root = rootStatus();
const QUIET = 600;
const MAX = 5000;
/**
 * Generous on purpose: on a loaded 2-core machine a 100 ms poll can slip by a second. What the bound
 * tells apart is "ended after the quiet window" (0.6 s) from "ran to the upper bound" (5 s).
 */
const SLACK = 1500;
/** The quiet window counts from the last poll that saw the client, up to one interval before it left. */
const INTERVAL = 100;
const script = (maxMs = MAX) => renderAppWaitScript({ quietMs: QUIET, maxMs, intervalMs: INTERVAL });

describe.runIf(!root.ok && root.required)('app wait in netns (required)', () => {
  it('has root and ip netns', () => {
    throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but ${root.reason}`);
  });
});

describe.skipIf(!root.ok)('app delay: traffic gone, in a network namespace', () => {
  let pod: Pod;
  let onlySleep: string;
  const listeners: Listener[] = [];
  beforeAll(async () => {
    pod = Pod.create('w');
    pod.addPeer();
    // Envoy's inbound capture and admin, pilot-agent's status port, the app's port.
    listeners.push(await pod.listen('envoy', [{ port: 15006 }, { port: 15000, host: '127.0.0.1' }]));
    listeners.push(await pod.listen('pilot-agent', [{ port: 15020 }, { port: 15021 }]));
    listeners.push(await pod.listen('app', [{ port: 8080 }]));
    onlySleep = pod.binDir({ sleep: '/usr/bin/sleep' });
  });
  afterAll(() => pod?.destroy());

  for (const [label, shell] of SHELLS) {
    describe(label, () => {
      it("waits while a client holds a connection to Envoy's inbound port; ends a quiet window after it leaves", async () => {
        const c = await pod.client({ connect: [{ host: POD_IP, port: 15006, localAddress: PEER_IP }] }, 0, 'peer');
        let left = 0;
        try {
          const run = await pod.runHook(shell, script(), {
            path: onlySleep,
            whileRunning: async (log) => {
              await waitForLog(log, /inbound traffic: port 15006 open/);
              await sleep(QUIET + 300);
              left = await c.close();
            },
          });
          expect(run.code).toBe(0);
          expect(run.exitAt - left).toBeGreaterThanOrEqual(QUIET - 2 * INTERVAL);
          expect(run.exitAt - left).toBeLessThanOrEqual(QUIET + SLACK);
          expect(run.log).toMatch(/end: no inbound connection for 600ms: traffic has left the pod/);
        } finally {
          await c.kill();
        }
      });

      it("a client on the app's own port counts (ambient, no interception); Envoy's 127.0.0.6 pool, loopback and probes on 15020/15021 do not", async () => {
        const own = await pod.client({
          connect: [
            { host: POD_IP, port: 8080, localAddress: '127.0.0.6' },
            { host: '127.0.0.1', port: 8080 },
          ],
        });
        const probes = await pod.client({ connect: [{ host: POD_IP, port: 15020, localAddress: PEER_IP }, { host: POD_IP, port: 15021, localAddress: PEER_IP }] }, 0, 'peer');
        try {
          const quietRun = await pod.runHook(shell, script(), { path: onlySleep });
          expect(quietRun.code).toBe(0);
          // only the lower bound: nothing it counts is there
          expect(quietRun.exitAt - quietRun.startAt).toBeGreaterThanOrEqual(QUIET - 2 * INTERVAL);
          expect(quietRun.exitAt - quietRun.startAt).toBeLessThanOrEqual(QUIET + SLACK + 300);
          expect(quietRun.log).not.toMatch(/inbound traffic/);

          const direct = await pod.client({ connect: [{ host: POD_IP, port: 8080, localAddress: PEER_IP }] }, 0, 'peer');
          let left = 0;
          const run = await pod.runHook(shell, script(), {
            path: onlySleep,
            whileRunning: async (log) => {
              await waitForLog(log, /inbound traffic: port 8080 open/);
              await sleep(300);
              left = await direct.close();
            },
          });
          await direct.kill();
          expect(run.exitAt - left).toBeGreaterThanOrEqual(QUIET - 2 * INTERVAL);
          expect(run.exitAt - left).toBeLessThanOrEqual(QUIET + SLACK);
        } finally {
          await own.kill();
          await probes.kill();
        }
      });

      it('short connections closed by the pod between two polls are still seen (their TIME_WAIT rows say when)', async () => {
        // The pod's side closes first, as Envoy does after a Connection: close response: an HTTP
        // server on 8081 answers one request with Connection: close every 150 ms.
        const srv = await pod.listen('app', [{ port: 8081, http: true }]);
        const every = await pod.client({ every: { host: POD_IP, port: 8081, localAddress: PEER_IP, ms: 150, http: true } }, 0, 'peer');
        let stopped = 0;
        try {
          const run = await pod.runHook(shell, script(), {
            path: onlySleep,
            whileRunning: async (log) => {
              await waitForLog(log, /inbound traffic: port 8081/);
              await sleep(1500);
              stopped = await every.close();
            },
          });
          expect(run.exitAt - run.startAt).toBeGreaterThanOrEqual(1500);
          expect(run.exitAt - stopped).toBeLessThanOrEqual(QUIET + SLACK);
          expect(run.log).toMatch(/end: no inbound connection for 600ms/);
        } finally {
          await every.kill();
          await srv.kill();
        }
      });

      it('ends at the upper bound while a client stays, and says so', async () => {
        const c = await pod.client({ connect: [{ host: POD_IP, port: 15006, localAddress: PEER_IP }] }, 0, 'peer');
        try {
          const run = await pod.runHook(shell, script(2000), { path: onlySleep });
          expect(run.exitAt - run.startAt).toBeGreaterThanOrEqual(2000);
          expect(run.exitAt - run.startAt).toBeLessThanOrEqual(2000 + SLACK);
          expect(run.log).toMatch(/end: upper bound 2s reached with inbound traffic still arriving \(port 15006 open\)/);
        } finally {
          await c.kill();
        }
      });

      it('without /proc/net it waits the upper bound and says why', async () => {
        const setup = `d=${pod.dir}/proc-${label} && mkdir -p "$d" && mount -t proc proc "$d" && mount -t tmpfs none /proc && : >/proc/uptime && mount --bind "$d/uptime" /proc/uptime && exec "$@"`;
        const run = await pod.runHook(shell, script(1500), {
          path: onlySleep,
          wrap: ['unshare', '--mount', '--', '/bin/sh', '-c', setup, 'sh'],
        });
        expect(run.exitAt - run.startAt).toBeGreaterThanOrEqual(1500);
        expect(run.log).toMatch(/cannot read \/proc\/net\/tcp or \/proc\/net\/tcp6: waiting the upper bound 1\.5s instead/);
      });
    });
  }
});
