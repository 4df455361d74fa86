import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labOptionsFrom } from '../../src/cli/commands/lab.js';
import { InputError } from '../../src/errors.js';
import { REQUEST_CONFIG_ENV } from '../../src/lab/agent/config.js';
import { isLoopbackPeer } from '../../src/lab/agent/proxy.js';
import { LabEnvError } from '../../src/lab/errors.js';
import { mustExec } from '../../src/lab/exec.js';
import { compiledAgentDir, installLabFiles } from '../../src/lab/files.js';
import { LabPod } from '../../src/lab/kubelet.js';
import { parseSiegeReport } from '../../src/lab/load.js';
import { podIp, podIptablesRules } from '../../src/lab/netns.js';
import { summarize, toHtml, toJson, toText } from '../../src/lab/report.js';
import { DEFAULT_LAB_OPTIONS, type ScenarioRun } from '../../src/lab/run.js';
import { fakeTerminatedRun } from '../helpers/lab-run.js';
import { NATIVE_DRAIN_PRESTOP } from '../../src/istio/facts.js';
import { baseManifest, buildScenario, LAB_APP_POLICY, netstatLoopScript, podSpecFromManifest, SCENARIO_NAMES } from '../../src/lab/scenarios.js';
import { injectText } from '../../src/inject/inject.js';
import { loadPolicy } from '../../src/policy/load.js';
import { APP_WAIT_TAG } from '../../src/hooks/app-wait.js';

const flags = {
  replicas: '3',
  duration: '10s',
  propagationDelay: '6s',
  load: 'builtin' as const,
  concurrency: '25',
  minRequests: '20000',
  grace: '20s',
  appShutdown: '8s',
  sleepHold: '10s',
};

describe('lab pieces that need no root', () => {
  it('parses siege 4.0.7 report text (captured from a real run)', () => {
    const s = parseSiegeReport(readFileSync(new URL('../../fixtures/lab/siege-4.0.7-report.txt', import.meta.url), 'utf8'));
    expect(s).toEqual({ transactions: 14023, availabilityPercent: 93.13, failedTransactions: 1035, successfulTransactions: 14023, elapsedSeconds: 8.72 });
    expect(() => parseSiegeReport('siege: command not found')).toThrow(/Transactions/);
  });

  it('pod addresses stay inside 198.18.0.0/15 and are unique', () => {
    const ips = Array.from({ length: 2100 }, (_, n) => podIp(n));
    expect(new Set(ips).size).toBe(ips.length);
    for (const ip of ips) expect(ip).toMatch(/^198\.1[89]\.\d{1,3}\.\d{1,3}$/);
  });

  it('interception rules: inbound app port → 15006; outbound → 15001 except UID 1337 and loopback', () => {
    const r = podIptablesRules(8080);
    expect(r).toContain('--dport 8080 -j REDIRECT --to-ports 15006');
    const out = r.split('\n').filter((l) => l.startsWith('-A MD_OUTPUT'));
    expect(out).toEqual(['-A MD_OUTPUT -m owner --uid-owner 1337 -j RETURN', '-A MD_OUTPUT -d 127.0.0.0/8 -j RETURN', '-A MD_OUTPUT -p tcp -j REDIRECT --to-ports 15001']);
  });

  it('scenarios: meshdrain runs inject output; native gets the drain preStop; netstat-loop is the seed recipe', () => {
    const p = { graceSeconds: 20, sleepHoldSeconds: 10 };
    const md = buildScenario('meshdrain', p);
    // inject carries the hold in the proxy.istio.io/overrides annotation (ADR 061); the lab reads it as Istio does.
    expect(md.manifest).toContain('proxy.istio.io/overrides:');
    expect(md.spec.proxyPreStop && 'exec' in md.spec.proxyPreStop && md.spec.proxyPreStop.exec[0]).toBe('/bin/sh');
    // inject raised the Deployment's 20 s to its budget; the lab runs exactly what the manifest says.
    const written = Number(/terminationGracePeriodSeconds: (\d+)/.exec(md.manifest)?.[1]);
    expect(md.spec.graceMs).toBe(written * 1000);
    // The lab's app is described to inject as a user would (ADR 017): its image has /bin/sh, so the
    // app's delay is the traffic-gone wait, the one inject writes for that policy, sized at its bound.
    expect(md.injectPolicy).toEqual({ source: 'lab-app', says: expect.stringContaining('app: {shell: true}') });
    expect(md.manifest).toBe(injectText(baseManifest(20), 'lab-app.yaml', { policy: LAB_APP_POLICY }).output);
    expect(md.spec.appPreStop && 'exec' in md.spec.appPreStop && md.spec.appPreStop.exec.join(' ')).toContain(APP_WAIT_TAG);
    expect(md.spec.graceMs).toBe(58_000); // 30 (maxDelay) + 20 + 0.5 (the hold's linger, ADR 018) + 5 + 2
    for (const n of ['native-meshdrain', 'ambient-meshdrain'] as const) expect(buildScenario(n, p).injectPolicy?.source).toBe('lab-app');
    expect(buildScenario('native', p).injectPolicy).toBeUndefined();
    // --policy wins, whole: an empty policy file is inject's default, the guessed 5 s sleep.
    const given = buildScenario('meshdrain', { ...p, policy: loadPolicy('', 'mine.yaml') });
    expect(given.injectPolicy).toEqual({ source: 'file', file: 'mine.yaml', says: '--policy mine.yaml' });
    expect(given.spec.appPreStop).toEqual({ sleepMs: 5000 });
    expect(given.spec.graceMs).toBe(33_000); // 5 + 20 + 1 + 5 + 2
    const nh = buildScenario('no-hold', p);
    expect(nh.spec.proxyPreStop).toBeUndefined();
    expect(nh.spec.terminationDrainMs).toBe(5000);
    const nat = buildScenario('native', p);
    expect(nat.spec.mode).toBe('native');
    expect(nat.spec.proxyPreStop).toEqual({ exec: ['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain'] });
    const nl = buildScenario('netstat-loop', p);
    expect(nl.spec.proxyPreStop).toEqual({ exec: ['/bin/sh', '-c', netstatLoopScript(20)] });
    expect(netstatLoopScript(20)).toBe('while [ $(netstat -plunt | grep tcp | grep -v envoy | wc -l | xargs) -ne 0 ]; do sleep 20; done');
    expect(SCENARIO_NAMES).toEqual(['no-hold', 'sleep-hold', 'netstat-loop', 'meshdrain', 'native', 'native-meshdrain', 'ambient', 'ambient-meshdrain']);
  });

  it("the injector model: Istio's mode per pod, its override lookup, and a stub nothing replaces", () => {
    const amb = buildScenario('ambient', { graceSeconds: 20, sleepHoldSeconds: 10 });
    expect(amb.manifest).toMatch(/kind: Namespace[\s\S]*istio.io\/dataplane-mode: "ambient"/);
    expect(amb.spec).toMatchObject({ mode: 'ambient', graceMs: 20_000 });
    expect(amb.spec.proxyPreStop).toBeUndefined();
    expect(amb.spec.unstartable).toBeUndefined();
    // Sidecar injection wins over an ambient label (istio-cni skips pods with a sidecar).
    const both = baseManifest(20, { namespaceLabels: { 'istio-injection': 'enabled', 'istio.io/dataplane-mode': 'ambient' } });
    expect(podSpecFromManifest(both, 'x.yaml').mode).toBe('classic');
    // An ambient pod still carrying inject's old stub can never start.
    const stub = baseManifest(20, { namespaceLabels: { 'istio.io/dataplane-mode': 'ambient' }, proxyPreStop: ['sleep', '1'] });
    expect(podSpecFromManifest(stub, 'x.yaml').unstartable).toMatch(/image "auto".*ErrImagePull/);
    // Native: the annotation's initContainers entry is the override; without one, Istio's drain preStop.
    const nat = (ov?: object) => baseManifest(20, { annotations: { 'sidecar.istio.io/nativeSidecar': 'true', ...(ov ? { 'proxy.istio.io/overrides': JSON.stringify(ov) } : {}) } });
    expect(podSpecFromManifest(nat(), 'x.yaml').proxyPreStop).toEqual({ exec: [...NATIVE_DRAIN_PRESTOP] });
    const hold = { name: 'istio-proxy', lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'hold'] } } } };
    expect(podSpecFromManifest(nat({ initContainers: [hold] }), 'x.yaml').proxyPreStop).toEqual({ exec: ['/bin/sh', '-c', 'hold'] });
    // ...but a native pod's override under `containers` is not read from the annotation.
    expect(podSpecFromManifest(nat({ containers: [hold] }), 'x.yaml').proxyPreStop).toEqual({ exec: [...NATIVE_DRAIN_PRESTOP] });
    expect(() => podSpecFromManifest(baseManifest(20, { namespaceLabels: {} }), 'plain.yaml')).toThrow(/not meshed/);
  });

  it('ambient interception: probes and ztunnel pass, the rest goes to ztunnel 15006 / 15001 (istio-cni in-pod rules)', () => {
    const r = podIptablesRules(8080, 'ztunnel').split('\n');
    expect(r.filter((l) => l.startsWith('-A MD_INPOD_PRERT'))).toEqual([
      '-A MD_INPOD_PRERT -s 198.18.0.5/32 -p tcp -j ACCEPT',
      '-A MD_INPOD_PRERT -s 198.18.0.4/32 -p tcp -j ACCEPT',
      '-A MD_INPOD_PRERT ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -j REDIRECT --to-ports 15006',
    ]);
    expect(r).toContain('-A MD_INPOD_OUTPUT ! -d 127.0.0.1/32 -p tcp -j REDIRECT --to-ports 15001');
    expect(r.join('\n')).not.toMatch(/uid-owner/); // no sidecar, no UID exemption
  });

  it('flags: bad values are one InputError naming the flag', () => {
    expect(labOptionsFrom(flags, '/').scenarios).toEqual(['no-hold', 'meshdrain', 'native', 'native-meshdrain', 'ambient', 'ambient-meshdrain']);
    expect(labOptionsFrom({ ...flags, scenario: ['all'] }, '/').scenarios).toEqual([...SCENARIO_NAMES]);
    expect(labOptionsFrom({ ...flags, scenario: ['native', 'all'] }, '/').scenarios).toEqual(['native', ...SCENARIO_NAMES.filter((n) => n !== 'native')]);
    expect(labOptionsFrom(flags, '/').envoyDrainDirectionAware).toBe(true);
    expect(labOptionsFrom({ ...flags, envoyDrainsOutbound: true }, '/').envoyDrainDirectionAware).toBe(false);
    const bad: [Partial<typeof flags> & { scenario?: string[] }, RegExp][] = [
      [{ scenario: ['no-hold', 'bogus'] }, /--scenario: unknown scenario "bogus"/],
      [{ replicas: '0' }, /--replicas/],
      [{ replicas: 'x' }, /--replicas/],
      [{ duration: 'soon' }, /--duration/],
      [{ grace: '1.5s' }, /--grace/],
      [{ propagationDelay: '-1s' }, /--propagation-delay/],
    ];
    for (const [f, re] of bad) {
      let err: unknown;
      try {
        labOptionsFrom({ ...flags, ...f }, '/');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('the compiled agent imports only node: modules and its own directory (it runs from a copy)', () => {
    const dir = compiledAgentDir();
    const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
    expect(files).toContain('main.js');
    let seen = 0;
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/\brequire\(|\bimport\(/);
      // esbuild writes double quotes and a one-line createRequire banner; the source writes single quotes.
      for (const [, spec] of text.matchAll(/^import .*? from ["']([^"']+)["'];/gm)) {
        seen++;
        expect(spec, `${f} imports ${spec}`).toMatch(/^(node:|\.\/[\w-]+\.js$)/);
        if (spec!.startsWith('./')) expect(files, `${f} imports ${spec}`).toContain(spec!.slice(2));
      }
    }
    expect(seen).toBeGreaterThan(5);
  });

  it('the installed copy runs as another user: pilot-agent request reaches its port and prints the reply', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end('drained\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const files = installLabFiles(`unit${process.pid}`);
    // As UID 1337 when we can (the copy must be world-readable to it); else as ourselves.
    const asProxy = process.getuid?.() === 0 ? ['setpriv', '--reuid=1337', '--regid=1337', '--clear-groups', '--'] : [];
    const argv = [...asProxy, files.pilotAgentBin, files.agent, 'request', 'POST', 'drain'];
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const c = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...env } });
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.on('exit', (code) => resolve({ code, out, err }));
      });
    try {
      const ok = await run({ [REQUEST_CONFIG_ENV]: JSON.stringify({ adminPort: port }) });
      expect(ok).toEqual({ code: 0, out: 'drained\n', err: '' });
      expect(seen).toEqual(['POST /drain']);
      const noEnv = await run({});
      expect(noEnv.code).toBe(1);
      expect(noEnv.err).toContain(`${REQUEST_CONFIG_ENV} is not set`);
    } finally {
      files.remove();
      server.close();
    }
  });

  it("pilot-agent request fails as Istio's does: above 399 but 404; a --debug-port outside Istio's list, in either form, is refused (ADR 091)", async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/quitquitquit' ? 403 : 404);
      res.end(req.url === '/quitquitquit' ? 'Only requests from localhost are allowed\n' : '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const files = installLabFiles(`unitq${process.pid}`);
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(files.pilotAgentBin, [files.agent, 'request', ...args], { env: { PATH: process.env.PATH ?? '', [REQUEST_CONFIG_ENV]: JSON.stringify({ adminPort: port }) } });
        let err = '';
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.on('exit', (code) => resolve({ code, err }));
      });
    try {
      expect((await run(['GET', 'missing'])).code).toBe(0);
      const refused = await run(['POST', 'quitquitquit']);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('received unsuccessful status code 403: Only requests from localhost are allowed');
      for (const flag of [['--debug-port=8080'], ['--debug-port', '8080']]) {
        const r = await run([...flag, 'POST', 'quitquitquit']);
        expect(r.code).toBe(1);
        expect(r.err).toContain('debug port 8080 is not in allowed list [15000 15004 15020 15021]');
      }
    } finally {
      files.remove();
      server.close();
    }
  });

  it("pilot-agent's loopback check is the peer's address (IsRequestFromLocalhost), IPv4-mapped included", () => {
    for (const a of ['127.0.0.1', '127.0.0.6', '::1', '::ffff:127.0.0.1']) expect(isLoopbackPeer(a), a).toBe(true);
    for (const a of ['198.18.0.5', '198.18.1.1', '::ffff:198.18.0.5', '', undefined]) expect(isLoopbackPeer(a), String(a)).toBe(false);
  });

  it('a failing system command is a LabEnvError: exit 2 and one line, not an internal error', async () => {
    const err = await mustExec(['sh', '-c', 'echo first >&2; echo second >&2; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabEnvError);
    expect((err as LabEnvError).exitCode).toBe(2);
    expect((err as Error).message).toBe('sh -c echo first >&2; echo second >&2; exit 3 failed (exit 3): first / second');
    const missing = await mustExec(['/nonexistent/tool']).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LabEnvError);
    expect((missing as Error).message).toMatch(/^\/nonexistent\/tool: spawn \/nonexistent\/tool ENOENT$/);
  });
});

/** A measured-looking run, built to exercise the verdicts (they must be able to say NO). */
function fakeRun(name: 'meshdrain' | 'no-hold' | 'netstat-loop', o: { failedEgress?: number; failed?: number; killed?: boolean; proxyFirst?: boolean; appCallsOut?: boolean } = {}): ScenarioRun {
  return fakeTerminatedRun(buildScenario(name, { graceSeconds: 20, sleepHoldSeconds: 10, ...(o.appCallsOut !== undefined ? { appCallsOut: o.appCallsOut } : {}) }), {
    timeline: { appSigterm: 2000, appExit: 10_000, proxySigterm: o.proxyFirst ? 2000 : 10_100, proxyExit: o.proxyFirst ? 7000 : 15_100, ...(o.killed ? { killed: 22_000 } : {}) },
    failedEgress: o.failedEgress ?? 0,
    failedEgressAt: 'first',
    failed: o.failed ?? 0,
    requests: 30_000,
    created: 1,
    createdReadyAt: 1900,
    bucket: true,
  });
}

describe('lab verdicts and output formats', () => {
  const o = { ...DEFAULT_LAB_OPTIONS, scenarios: [...SCENARIO_NAMES], replicas: 1 };
  it("the client proxies' retries (ADR 077): in each row's JSON, in the text, and the policy in the header", () => {
    const run = fakeRun('meshdrain');
    run.balancer = { ...run.balancer, retries: { 'refused-stream': 7 }, retriedRequests: 6, recoveredRequests: 6 };
    const s = summarize(run, o);
    expect(s.clientRetries).toEqual({ policy: 'istio-default', retriedRequests: 6, recoveredRequests: 6, retries: { 'refused-stream': 7 } });
    const text = toText([s], o);
    expect(text).toContain("client proxies retry as Istio's default route does");
    expect(text).toMatch(/^  meshdrain: 6 requests retried \(7 refused-stream\), 6 then succeeded$/m);
    const none = { ...o, clientRetries: 'none' as const };
    expect(toText([summarize(fakeRun('meshdrain'), none)], none)).toContain('no client retries (--client-retries none)');
    expect((toJson([s], o) as { lab: { clientRetries: string } }).lab.clientRetries).toBe('istio-default');
  });
  it('meshdrain is "as expected" only with zero failures of both kinds', () => {
    expect(summarize(fakeRun('meshdrain'), o).reproduced).toBe(true);
    expect(summarize(fakeRun('meshdrain', { failedEgress: 1 }), o).reproduced).toBe(false);
    const s = summarize(fakeRun('meshdrain', { failed: 3 }), o);
    expect(s.reproduced).toBe(false);
    expect(s.failedByReason.refused).toBe(3);
    expect(s.failedByPhase).toEqual({ terminating: 3 });
    expect(s.verdict).toMatch(/^NOT as expected: 3 failed requests/);
  });
  it('no-hold reproduces only when it shows the failures; netstat-loop only when pods were SIGKILLed', () => {
    expect(summarize(fakeRun('no-hold'), o).reproduced).toBe(false);
    const nh = summarize(fakeRun('no-hold', { failedEgress: 30, failed: 10, proxyFirst: true }), o);
    expect(nh.reproduced).toBe(true);
    expect(nh.proxyOutlivedAppSeconds).toBe(-3);
    expect(nh.failedByPhase).toEqual({ 'proxy-exited': 10 });
    expect(summarize(fakeRun('netstat-loop'), o).reproduced).toBe(false);
    expect(summarize(fakeRun('netstat-loop', { killed: true }), o).reproduced).toBe(true);
  });
  it('an app that makes no outbound call after SIGTERM (ADR 079): no-hold needs only its failed requests, and every row says how the app behaved', () => {
    const quiet = { ...o, appCallsOut: false };
    // No outbound call to fail: the request failures (propagation 6 s > the 5 s drain) are what it shows.
    const nh = summarize(fakeRun('no-hold', { failed: 10, proxyFirst: true, appCallsOut: false }), quiet);
    expect(nh.reproduced, nh.verdict).toBe(true);
    expect(nh.app.callsOut).toBe(false);
    expect(nh.verdict).toContain('the app makes no outbound calls after SIGTERM');
    expect(nh.expectation).toContain('makes no outbound calls after SIGTERM');
    expect(summarize(fakeRun('no-hold', { proxyFirst: true, appCallsOut: false }), quiet).reproduced).toBe(false);
    // The same figures from an app that calls out: no failed outbound call means not reproduced.
    expect(summarize(fakeRun('no-hold', { failed: 10, proxyFirst: true }), o).reproduced).toBe(false);
    expect(summarize(fakeRun('no-hold', { failed: 10, proxyFirst: true }), o).app.callsOut).toBe(true);
    expect(toText([nh], quiet)).toContain('(no outbound calls after SIGTERM)');
    const json = JSON.parse(JSON.stringify(toJson([nh], quiet))) as { lab: { appCallsOut: boolean }; scenarios: { app: { callsOut: boolean } }[] };
    expect(json.lab.appCallsOut).toBe(false);
    expect(json.scenarios[0]!.app.callsOut).toBe(false);
  });
  it('text, JSON and a self-contained HTML page', () => {
    const runs = [fakeRun('no-hold', { failedEgress: 30, failed: 10, proxyFirst: true }), fakeRun('meshdrain')];
    const sums = runs.map((r) => summarize(r, o));
    const text = toText(sums, o);
    expect(text).toMatch(/^no-hold +30000 +10 +0 +10 /m);
    expect(text).toMatch(/^meshdrain +30000 +0 .* yes$/m);
    // Which policy the meshdrain row's inject ran with is said (ADR 017); no-hold ran no inject.
    expect(text).toMatch(/^meshdrain: inject ran with the lab's app: app: \{shell: true\}/m);
    expect(text).not.toMatch(/^no-hold: inject ran/m);
    const json = JSON.parse(JSON.stringify(toJson(sums, o))) as { scenarios: Record<string, unknown>[] };
    expect(json.scenarios.map((s) => (s.injectPolicy as { source?: string } | undefined)?.source)).toEqual([undefined, 'lab-app']);
    for (const s of json.scenarios) {
      for (const k of ['name', 'requests', 'failedRequests', 'failedEgress', 'availabilityPercent', 'proxyOutlivedAppSeconds', 'terminationSeconds', 'reproduced']) expect(s).toHaveProperty(k);
    }
    const html = toHtml(sums, runs, o);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|<link|src=|href="http/);
    expect(html).toContain('&lt;'); // manifests are escaped
  });
});
