/**
 * ADR 090 addendum, inject as a real process: istio-proxy's preStop `curl …/quitquitquit` with no method
 * flag is a GET, answered 405: kept with a warning that it does nothing, and the grace period counts the
 * drain that does run; with -XPOST it quits at termination start and no drain is counted.
 */
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const deploy = (curl: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: e
spec:
  template:
    metadata:
      annotations:
        sidecar.istio.io/inject: "true"
        proxy.istio.io/config: '{"terminationDrainDuration": "30s"}'
    spec:
      containers:
      - name: app
        image: a
        lifecycle:
          preStop:
            sleep: {seconds: 5}
      - name: istio-proxy
        image: auto
        lifecycle:
          preStop:
            exec: {command: ${curl}}
`;
const VERSIONS = ['--kube-version', '1.30', '--istio-version', '1.22'];

describe('meshdrain inject: an istio-proxy preStop curl to /quitquitquit', () => {
  it('without -XPOST (a GET): kept, a warning that pilot-agent answers 405, and the 30s drain counted in the grace period', () => {
    const r = cli(['inject', ...VERSIONS], { input: deploy('["curl", "-fsS", "http://localhost:15020/quitquitquit"]') });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: istio-proxy's preStop calls /quitquitquit but does nothing: curl sends a GET (no -X POST, -d, -F or --json), and /quitquitquit answers 405 (not a POST); the hook ends there and the proxy drains as without it");
    // 5 (app sleep) + 20 (app shutdown) + 30 (drain) + 2 (margin)
    expect(r.stdout).toMatch(/terminationGracePeriodSeconds: 57\n/);
  });
  it('with -XPOST: quits at termination start, no drain counted (the default 30s grace suffices)', () => {
    const r = cli(['inject', ...VERSIONS], { input: deploy('["curl", "-fsS", "-XPOST", "http://localhost:15020/quitquitquit"]') });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: istio-proxy's preStop calls /quitquitquit: the proxy exits at termination start with no drain");
    expect(r.stdout).not.toContain('terminationGracePeriodSeconds');
  });
});
