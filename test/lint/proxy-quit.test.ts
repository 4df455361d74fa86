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
    const job = `apiVersion: batch/v1
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
        command: ["sh", "-c", "work; pilot-agent request POST quitquitquit"]
`;
    const jf = (await lintJson(VERSIONS, { stdin: job })).findings;
    expect(jf.map((x) => x.rule)).not.toContain('job-classic-sidecar');
    expect(jf.map((x) => x.message).join('\n')).not.toMatch(/preStop calls \/quitquitquit/);
  });
});
