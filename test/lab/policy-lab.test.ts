/**
 * The policy's `lab.app` section (issue 13: "the policy can hold these as a section, so a team records
 * them once"): the lab's app flags read from the policy, a flag on the command line winning, bad values
 * refused with file:line:col.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labOptionsFrom } from '../../src/cli/commands/lab.js';
import { DEFAULT_LAB_OPTIONS } from '../../src/lab/run.js';
import { loadPolicy } from '../../src/policy/load.js';
import { expectInputError } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'meshdrain-policy-lab-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const flags = { replicas: '3', duration: '10s', propagationDelay: '6s', load: 'builtin' as const, concurrency: '25', minRequests: '20000', grace: '20s', sleepHold: '10s' };
const head = 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\n';
const policyFile = (name: string, text: string) => {
  writeFileSync(join(dir, name), head + text);
  return name;
};

describe('policy lab.app', () => {
  const file = policyFile('lab.yaml', 'lab:\n  app:\n    shutdown: 12s\n    closesPort: true\n    callsOut: false\n    metricsPort: none\n    prestopTime: 4s\n');

  it('sets the lab app flags a team would otherwise repeat', () => {
    const o = labOptionsFrom({ ...flags, policy: file }, dir);
    expect(o.appShutdownMs).toBe(12_000);
    expect(o.appClosesPortOnSigterm).toBe(true);
    expect(o.appCallsOut).toBe(false);
    expect(o.appMetricsPort).toBeNull();
  });
  it('a flag on the command line wins over the policy', () => {
    const o = labOptionsFrom({ ...flags, policy: file, appShutdown: '3s', appMetricsPort: '9100', appCallsOut: true }, dir);
    expect(o.appShutdownMs).toBe(3000);
    expect(o.appMetricsPort).toBe(9100);
    expect(o.appCallsOut).toBe(true);
    expect(o.appClosesPortOnSigterm).toBe(true);
  });
  it('--no-app-calls-out without a policy; without either the app calls out, as the lab always did', () => {
    expect(labOptionsFrom({ ...flags, appCallsOut: false }, dir).appCallsOut).toBe(false);
    expect(labOptionsFrom({ ...flags }, dir).appCallsOut).toBe(true);
  });
  it('without the section (or without a policy) the defaults stand', () => {
    const o = labOptionsFrom({ ...flags, policy: policyFile('none.yaml', 'defaults: {}\n') }, dir);
    expect(o.appShutdownMs).toBe(DEFAULT_LAB_OPTIONS.appShutdownMs);
    expect(o.appClosesPortOnSigterm).toBe(false);
    expect(o.appCallsOut).toBe(true);
    expect(o.appMetricsPort).toBeUndefined();
    expect(labOptionsFrom({ ...flags }, dir).appShutdownMs).toBe(DEFAULT_LAB_OPTIONS.appShutdownMs);
  });
  it("prestopTime stands in for the app hook the lab cannot run (the image's own program), under --manifest; the flag wins", () => {
    const manifest = new URL('../../fixtures/lab/manifests/app-program-hook.yaml', import.meta.url).pathname;
    expect(labOptionsFrom({ ...flags, policy: file, manifest }, dir).scenarioList?.[0]?.spec.appPreStop).toEqual({ sleepMs: 4000 });
    expect(labOptionsFrom({ ...flags, policy: file, manifest, appPrestopTime: '7s' }, dir).scenarioList?.[0]?.spec.appPreStop).toEqual({ sleepMs: 7000 });
  });
  it('the example in docs/lab.md loads as written', () => {
    const md = readFileSync(new URL('../../docs/lab.md', import.meta.url), 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(md)?.[1] ?? '';
    expect(loadPolicy(block, 'docs/lab.md').lab?.app).toEqual({ shutdown: '12s', closesPort: true, callsOut: true, metricsPort: 'none', prestopTime: '10s' });
  });
  it('bad values: one line naming file:line:col', () => {
    expectInputError(() => loadPolicy(head + 'lab:\n  app:\n    shutdown: soon\n', 'p.yaml'), /^p\.yaml:5:15: /);
    expectInputError(() => loadPolicy(head + 'lab:\n  app:\n    metricsPort: 70000\n', 'p.yaml'), /^p\.yaml:5:18: /);
    expectInputError(() => loadPolicy(head + 'lab:\n  app:\n    callsHome: true\n', 'p.yaml'), /^p\.yaml:\d+:\d+: /);
    expectInputError(() => loadPolicy(head + 'lab:\n  app:\n    callsOut: sometimes\n', 'p.yaml'), /^p\.yaml:5:15: /);
    expectInputError(() => loadPolicy(head + 'lab:\n  proxy: {}\n', 'p.yaml'), /^p\.yaml:\d+:\d+: /);
  });
});
