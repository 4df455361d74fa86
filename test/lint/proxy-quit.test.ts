// ADR 090: istio-proxy's own preStop calling pilot-agent's /quitquitquit, recognised once (plan/facts.ts
// proxyPreStopQuit) and judged by lint's proxy-exits-before-app.
import { describe, expect, it } from 'vitest';
import { lintJson } from './helpers.js';

const VERSIONS = ['--kube-version', '1.30', '--istio-version', '1.22'];

const deployment = (proxyPreStop: string, o: { drain?: string; appPreStop?: string } = {}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: e
spec:
  template:
    metadata:
      annotations:
        sidecar.istio.io/inject: "true"
${o.drain ? `        proxy.istio.io/config: '{"terminationDrainDuration": "${o.drain}"}'\n` : ''}    spec:
      terminationGracePeriodSeconds: 60
      containers:
      - name: app
        image: a
        lifecycle:
          preStop:
            ${o.appPreStop ?? 'sleep: {seconds: 5}'}
      - name: istio-proxy
        image: auto
        lifecycle:
          preStop:
            ${proxyPreStop}
`;

const pexit = async (text: string) => (await lintJson(VERSIONS, { stdin: text })).findings.filter((f) => f.rule === 'proxy-exits-before-app');

describe('istio-proxy preStop calling /quitquitquit', () => {
  it.each([
    ['pilot-agent request', 'exec: {command: ["pilot-agent", "request", "POST", "quitquitquit"]}'],
    ['curl', 'exec: {command: ["curl", "-XPOST", "http://127.0.0.1:15020/quitquitquit"]}'],
    ['a shell script', 'exec: {command: ["sh", "-c", "curl -sf -XPOST localhost:15020/quitquitquit"]}'],
  ])('exec (%s): an error, the proxy exits at termination start, however long the drain is set', async (_, hook) => {
    const f = await pexit(deployment(hook, { drain: '30s' }));
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe('error');
    expect(f[0]!.message).toContain("istio-proxy's preStop calls /quitquitquit: the proxy exits at termination start, before the app's 5s delay + ~20s shutdown");
  });
  it('exec with no drain set either: the quit message, not "exits after 5s drain"', async () => {
    const f = await pexit(deployment('exec: {command: ["pilot-agent", "request", "POST", "quitquitquit"]}'));
    expect(f.map((x) => x.message).join('\n')).not.toMatch(/exits after/);
    expect(f).toHaveLength(1);
  });
  it('the drain that never runs is not counted: a 90s drain is no drain-exceeds-grace', async () => {
    const all = (await lintJson(VERSIONS, { stdin: deployment('exec: {command: ["pilot-agent", "request", "POST", "quitquitquit"]}', { drain: '90s' }) })).findings;
    expect(all.map((x) => x.rule)).not.toContain('drain-exceeds-grace');
    const kept = (await lintJson(VERSIONS, { stdin: deployment('exec: {command: ["sleep", "1"]}', { drain: '90s' }) })).findings;
    expect(kept.map((x) => x.rule)).toContain('drain-exceeds-grace');
  });
  it('httpGet: a warning that it does nothing (GET from the node, refused); the 30s drain still runs, so no error', async () => {
    const f = await pexit(deployment('httpGet: {path: /quitquitquit, port: 15020}', { drain: '30s' }));
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe('warning');
    expect(f[0]!.message).toMatch(/httpGet to \/quitquitquit, which does nothing/);
  });
  it("an app container (a Job's recipe) calling quitquitquit is not istio-proxy's preStop: no quit finding", async () => {
    const text = deployment('exec: {command: ["sleep", "1"]}', { drain: '30s', appPreStop: 'exec: {command: ["pilot-agent", "request", "POST", "quitquitquit"]}' });
    const f = await pexit(text);
    expect(f.map((x) => x.message).join('\n')).not.toMatch(/quitquitquit/);
    const jf = (await lintJson(VERSIONS, { stdin: classicJob('work; pilot-agent request POST quitquitquit') })).findings;
    expect(jf.map((x) => x.rule)).not.toContain('job-classic-sidecar');
    expect(jf.map((x) => x.message).join('\n')).not.toMatch(/preStop calls \/quitquitquit/);
  });
});

/** A Job on a classic sidecar whose one container runs `sh -c CMD`. */
const classicJob = (cmd: string) => `apiVersion: batch/v1
kind: Job
metadata:
  name: j
spec:
  template:
    metadata:
      annotations:
        sidecar.istio.io/inject: "true"
        sidecar.istio.io/nativeSidecar: "false"
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: a
        command: ["sh", "-c", ${JSON.stringify(cmd)}]
`;

// ADR 090 addendum: the method is read as curl/wget/pilot-agent send it; a GET is answered 405 and quits nothing.
describe('istio-proxy preStop calling /quitquitquit without a POST (lint through the CLI)', () => {
  it.each([
    ['curl with no method flag', 'exec: {command: ["curl", "-fsS", "http://localhost:15020/quitquitquit"]}', 'curl sends a GET (no -X POST, -d, -F or --json)'],
    ['curl -G -d in a shell script', 'exec: {command: ["sh", "-c", "sleep 2; curl -sG -d x localhost:15020/quitquitquit"]}', 'curl sends a GET (-G puts the -d data in the query)'],
    ['wget with no --post-data', 'exec: {command: ["wget", "-qO-", "http://127.0.0.1:15020/quitquitquit"]}', 'wget sends a GET'],
    ['pilot-agent request GET', 'exec: {command: ["pilot-agent", "request", "GET", "quitquitquit"]}', 'pilot-agent request sends a GET'],
  ])('%s: refused (405), a warning that it does nothing; the 30s drain runs, so no quit error', async (_, hook, why) => {
    const f = await pexit(deployment(hook, { drain: '30s' }));
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe('warning');
    expect(f[0]!.message).toContain(`istio-proxy's preStop calls /quitquitquit but does nothing: ${why}`);
    expect(f[0]!.message).toContain('answers 405 (not a POST); the hook ends there and the proxy drains as if it were not there');
  });
  it("a Job whose command GETs /quitquitquit, or POSTs it to the pod IP from the app's container, never completes", async () => {
    const job = classicJob;
    const rule = async (cmd: string) => (await lintJson(VERSIONS, { stdin: job(cmd) })).findings.filter((x) => x.rule === 'job-classic-sidecar');
    expect(await rule('work; curl -fsS -XPOST localhost:15020/quitquitquit')).toHaveLength(0);
    const get = await rule('work; curl -fsS localhost:15020/quitquitquit');
    expect(get).toHaveLength(1);
    expect(get[0]!.message).toContain('its call to /quitquitquit does nothing: curl sends a GET');
    const podIp = await rule('work; curl -fsS -XPOST http://$(hostname -i):15020/quitquitquit');
    expect(podIp).toHaveLength(1);
    expect(podIp[0]!.message).toContain('the request comes from the pod IP, not loopback, and pilot-agent answers 403');
  });
});
