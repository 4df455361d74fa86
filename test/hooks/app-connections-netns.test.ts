/**
 * The hold's app-connections strategy and linger (ADR 014) against real sockets, under dash, bash and
 * busybox sh: the proxy stays while the app (any UID but 1337) has a client connection to a
 * non-loopback address, also when the app closed its only port first; Envoy's own (UID 1337),
 * loopback and inbound connections do not hold, except an inbound request from Envoy (127.0.0.6) the app
 * still answers after it closed its port. drain-at-start calls pilot-agent's drain once.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHoldScript } from '../../src/hooks/hold.js';
import { PROXY_UID } from '../../src/istio/facts.js';
import type { HoldSpec } from '../../src/plan/types.js';
import { istioListeners, type Listener, Pod, PEER_IP, POD_IP, REMOTE_IP, rootStatus, SHELLS, sleep, waitForLog } from './netns.js';

const root = rootStatus();
const LINGER = 700;
/** Generous for a loaded 2-core machine (a 100 ms poll can slip by a second); the timeout it is told apart from is 20 s. */
const SLACK = 2000;
const APP_UID = 1000;
const hold = (extra: Partial<HoldSpec> = {}): HoldSpec => ({
  strategies: [{ kind: 'app-listeners' }, { kind: 'app-connections' }],
  timeoutMs: 20_000,
  intervalMs: 100,
  lingerMs: LINGER,
  ...extra,
});

describe.runIf(!root.ok && root.required)('app-connections in netns (required)', () => {
  it('has root and ip netns', () => {
    throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but ${root.reason}`);
  });
});

describe.skipIf(!root.ok)('hold: app-connections and linger, in a network namespace', () => {
  let pod: Pod;
  let onlySleep: string;
  beforeAll(async () => {
    pod = Pod.create('c');
    pod.addPeer();
    await istioListeners(pod);
    // The external service the app calls, outside the pod.
    await pod.listen('envoy', [{ port: 80, host: REMOTE_IP }], { peer: true });
    onlySleep = pod.binDir({ sleep: '/usr/bin/sleep' });
  });
  afterAll(() => pod?.destroy());

  /**
   * Run inject's hold (app-listeners + app-connections) while `drive` plays the app; `drive` returns the
   * moment the last thing that held ended. The hold must exit 0, the linger after that moment.
   */
  async function holdEndsLingerAfter(shell: readonly string[], drive: (log: string) => Promise<number>) {
    let ended = 0;
    const run = await pod.runHook(shell, renderHoldScript(hold()), { path: onlySleep, whileRunning: async (log) => void (ended = await drive(log)) });
    expect(run.code).toBe(0);
    expect(run.exitAt - ended).toBeGreaterThanOrEqual(LINGER);
    expect(run.exitAt - ended).toBeLessThanOrEqual(LINGER + SLACK);
    return run;
  }
  /** The app closes its port 8080 once the hold has seen it listen (server.close() at SIGTERM). */
  async function closeWhenHeld(log: string, app: Listener) {
    await waitForLog(log, /app-listeners: holding \(port 8080 listens\)/);
    return app.close(8080);
  }

  for (const [label, shell] of SHELLS) {
    describe(label, () => {
      it('the app closes its only port, then calls out for 1.5 s a moment later: held until the call ends + linger', async () => {
        const app = await pod.listen('app', [{ port: 8080 }]);
        const call = await pod.client({ connect: [{ host: REMOTE_IP, port: 80 }], lazy: true }, APP_UID);
        try {
          const run = await holdEndsLingerAfter(shell, async (log) => {
            await closeWhenHeld(log, app);
            await sleep(300); // the gap between server.close() and the first outbound call
            await call.open();
            await sleep(1500);
            return call.close();
          });
          expect(run.log).toMatch(new RegExp(`app-connections: holding( again)? \\(connection to port 80 owned by uid ${APP_UID}\\)`));
          expect(run.log).toMatch(/end: nothing holds the proxy any more \(for 700ms\)/);
        } finally {
          await Promise.all([call.kill(), app.kill()]);
        }
      });

      it("Envoy's own connections (UID 1337), loopback calls and inbound clients do not hold", async () => {
        const app = await pod.listen('app', [{ port: 8080 }]);
        const envoyOut = await pod.client({ connect: [{ host: REMOTE_IP, port: 80 }] }, PROXY_UID);
        const local = await pod.client({ connect: [{ host: '127.0.0.1', port: 15000 }] }, APP_UID);
        const inbound = await pod.client({ connect: [{ host: POD_IP, port: 15006, localAddress: PEER_IP }] }, 0, 'peer');
        try {
          await holdEndsLingerAfter(shell, async (log) => {
            await waitForLog(log, /app-connections: none at start; watching/);
            await sleep(200);
            return app.close(8080);
          });
        } finally {
          await Promise.all([envoyOut.kill(), local.kill(), inbound.kill(), app.kill()]);
        }
      });

      it("an inbound request from Envoy (127.0.0.6) the app still answers after closing its port holds until it ends + linger (ADR 016)", async () => {
        const app = await pod.listen('app', [{ port: 8080 }]);
        // Envoy's inbound passthrough: UID 1337, bound to 127.0.0.6, to the app's port.
        const fromEnvoy = await pod.client({ connect: [{ host: '127.0.0.1', port: 8080, localAddress: '127.0.0.6' }] }, PROXY_UID);
        try {
          await holdEndsLingerAfter(shell, async (log) => {
            await closeWhenHeld(log, app);
            await waitForLog(log, /app-connections: holding( again)? \(inbound request from istio-proxy still open on port 8080/);
            await sleep(1000);
            return fromEnvoy.close();
          });
        } finally {
          await Promise.all([fromEnvoy.kill(), app.kill()]);
        }
      });

      it('drain at start: runs `pilot-agent request --debug-port=15020 POST drain` once and logs it; without pilot-agent it says so', async () => {
        const bin = pod.binDir({ sleep: '/usr/bin/sleep' });
        const argsFile = join(pod.dir, `pilot-agent-args-${label}`);
        writeFileSync(join(bin, 'pilot-agent'), `#!/bin/sh\nprintf '%s\\n' "$*" >>${argsFile}\n`);
        chmodSync(join(bin, 'pilot-agent'), 0o755);
        const h = hold({ strategies: [{ kind: 'sleep', ms: 200 }], drainAtStart: true, lingerMs: 0 });
        const run = await pod.runHook(shell, renderHoldScript(h), { path: bin });
        expect(readFileSync(argsFile, 'utf8')).toBe('request --debug-port=15020 POST drain\n');
        expect(run.log).toMatch(/asked pilot-agent to drain inbound/);
        const none = await pod.runHook(shell, renderHoldScript(h), { path: onlySleep });
        expect(none.log).toMatch(/no pilot-agent on PATH: cannot drain at start; Istio's drain runs after the hold/);
        writeFileSync(join(bin, 'pilot-agent'), '#!/bin/sh\nexit 1\n');
        const failed = await pod.runHook(shell, renderHoldScript(h), { path: bin });
        expect(failed.log).toMatch(/pilot-agent request --debug-port=15020 POST drain failed: Istio's drain runs after the hold/);
      });
    });
  }
});
