/** One validator for hold settings: hook, image, istio and the policy loader give the same answer. */
import { describe, expect, it } from 'vitest';
import { holdFromFlags } from '../../src/hooks/flags.js';
import { holdFromOptions } from '../../src/istio/holds.js';
import { holdSettings, MAX_INTERVAL_MS, MIN_INTERVAL_MS, POLICY_LABELS } from '../../src/plan/hold-settings.js';
import { loadPolicy } from '../../src/policy/load.js';
import { defaultHoldShape } from '../../src/plan/facts.js';
import { expectInputError } from '../helpers/errors.js';

const policy = (proxy: string) => `apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy:\n${proxy}`;
const hookFlags = (f: { interval?: string; timeout?: string; waitFor?: string[] }) => holdFromFlags({ grace: '30s', drain: '5s', ...f }, () => {});

describe('hold settings', () => {
  it('defaults: the hold inject writes (app-listeners + app-connections, 500 ms linger, drain at start), the door’s timeout, 200ms', () => {
    const inject = { strategies: [{ kind: 'app-listeners' }, { kind: 'app-connections' }], lingerMs: 500, drainAtStart: true };
    expect(holdSettings({}, 23_000)).toEqual({ ...inject, timeoutMs: 23_000, intervalMs: 200 });
    // One decision at every door: hook and image (flags), istio (options) and inject (the facts).
    // The default hold drains at its start: no drain after it, so 30 s grace - 2 s margin (ADR 086).
    expect(hookFlags({}).hold).toEqual({ ...inject, timeoutMs: 28_000, intervalMs: 200 });
    expect(holdFromOptions({})).toMatchObject({ ...inject, timeoutMs: 28_000 });
    expect(defaultHoldShape({})).toEqual(inject);
    // A hold that names no app-connections neither lingers nor drains at the start, wherever it is named.
    for (const shape of [hookFlags({ waitFor: ['ports=8080'] }).hold, holdFromOptions({ waitFor: ['ports=8080'] }), defaultHoldShape({ proxy: { waitFor: ['ports=8080'] } })]) {
      expect(shape).toMatchObject({ strategies: [{ kind: 'ports', ports: [8080] }] });
      expect(shape).not.toHaveProperty('lingerMs');
      expect(shape).not.toHaveProperty('drainAtStart');
    }
    expect(hookFlags({ waitFor: ['app-connections'] }).hold).toMatchObject({ lingerMs: 500, drainAtStart: true });
  });

  it('the interval range is the same for hook, image (same flags) and istio: 1ms is refused with one message', () => {
    const msg = /^--interval: expected 10ms to 60s, got "1ms"$/;
    expectInputError(() => hookFlags({ interval: '1ms' }), msg);
    expectInputError(() => holdFromOptions({ interval: '1ms' }), msg);
    expectInputError(() => holdFromOptions({ interval: '61s' }), /^--interval: expected 10ms to 60s, got "61s"$/);
    expect(holdFromOptions({ interval: `${MIN_INTERVAL_MS}ms` }).intervalMs).toBe(MIN_INTERVAL_MS);
    expect(hookFlags({ interval: `${MAX_INTERVAL_MS / 1000}s` }).hold.intervalMs).toBe(MAX_INTERVAL_MS);
  });

  it('the 24h cap is the same everywhere', () => {
    expectInputError(() => hookFlags({ timeout: '25h' }), /^--timeout: at most 24h, got "25h"$/);
    expectInputError(() => holdFromOptions({ timeout: '25h' }), /^--timeout: at most 24h, got "25h"$/);
    expect(holdFromOptions({ timeout: '24h' }).timeoutMs).toBe(86_400_000);
  });

  it('policy labels and positions', () => {
    expectInputError(() => holdSettings({ interval: 0.001 }, 0, { labels: POLICY_LABELS, at: () => ({ file: 'p.yaml', line: 3, col: 7 }) }), /^p\.yaml:3:7: interval: expected 10ms to 60s, got 0\.001$/);
  });
});

describe('the policy loader uses the same validator, at load, with file:line:col', () => {
  it('interval: 2m fails at its position', () => {
    expectInputError(() => loadPolicy(policy('    interval: 2m\n'), 'p.yaml'), /^p\.yaml:5:15: interval: expected 10ms to 60s, got "2m"$/);
  });
  it('timeout: 48h in a rule fails at its position', () => {
    const text = 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\nrules:\n- match: {kinds: [Deployment]}\n  proxy:\n    timeout: 48h\n';
    expectInputError(() => loadPolicy(text, 'p.yaml'), /^p\.yaml:6:14: timeout: at most 24h, got "48h"$/);
  });
  it('the template: section is checked the same way, and its name may not be one of Istio’s', () => {
    const t = (body: string) => `apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ntemplate:\n${body}`;
    expectInputError(() => loadPolicy(t('  timeout: 48h\n'), 'p.yaml'), /^p\.yaml:4:12: timeout: at most 24h/);
    expectInputError(() => loadPolicy(t('  name: sidecar\n'), 'p.yaml'), /^p\.yaml:4:9: name: "sidecar" is one of Istio's own templates/);
    expect(loadPolicy(t('  name: drain-wait\n  timeout: 60s\n'), 'p.yaml').template).toEqual({ name: 'drain-wait', timeout: '60s' });
  });
  it('a wait strategy is reported as typed, not as what a number parse made of it', () => {
    expectInputError(
      () => loadPolicy(policy('    waitFor: ["ports=80;rm -rf /"]\n'), 'p.yaml'),
      /^p\.yaml:5:15: waitFor: ports: expected port numbers 1-65535 separated by commas \(ports=8080,9090\), got "80;rm -rf \/"$/,
    );
  });
});
