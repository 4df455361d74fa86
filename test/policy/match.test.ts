/** Which policy rules apply to a pod template, and how their settings combine. */
import { describe, expect, it } from 'vitest';
import { globMatch, resolveSettings, ruleMatches } from '../../src/policy/match.js';
import type { Policy } from '../../src/policy/policy.js';
import { Settings, type RuleT } from '../../src/policy/schema.js';
import type { PodTemplateSite } from '../../src/model/workload.js';

const site = (over: Partial<PodTemplateSite> = {}): PodTemplateSite => ({
  kind: 'Deployment',
  apiVersion: 'apps/v1',
  name: 'checkout-api',
  labels: { team: 'pay' },
  templatePath: ['spec', 'template'],
  isJobLike: false,
  ...over,
});
const policy = (rules: RuleT[], defaults: Policy['defaults'] = {}): Policy => ({ format: 'v1alpha1', defaults, rules });

describe('globMatch', () => {
  it('* is any run, ? one character, everything else literal (dots included)', () => {
    expect(globMatch('checkout-*', 'checkout-api')).toBe(true);
    expect(globMatch('checkout-*', 'checkout')).toBe(false);
    expect(globMatch('pod-?', 'pod-1')).toBe(true);
    expect(globMatch('pod-?', 'pod-12')).toBe(false);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('api', 'my-api')).toBe(false); // anchored
  });
});

describe('ruleMatches', () => {
  const rule = (match: RuleT['match']): RuleT => ({ match });
  it('kinds compare without case; names and namespaces are globs; an absent namespace is "default"', () => {
    expect(ruleMatches(rule({ kinds: ['deployment'] }), site(), {})).toBe(true);
    expect(ruleMatches(rule({ kinds: ['StatefulSet'] }), site(), {})).toBe(false);
    expect(ruleMatches(rule({ names: ['*-api'] }), site(), {})).toBe(true);
    expect(ruleMatches(rule({ namespaces: ['default'] }), site(), {})).toBe(true);
    expect(ruleMatches(rule({ namespaces: ['prod-*'] }), site(), {})).toBe(false);
    expect(ruleMatches(rule({ namespaces: ['prod-*'] }), site({ namespace: 'prod-eu' }), {})).toBe(true);
  });
  it("labels: every one must match, on the workload's or the pod template's labels (the pod's win)", () => {
    expect(ruleMatches(rule({ labels: { team: 'pay', app: 'api' } }), site(), { app: 'api' })).toBe(true);
    expect(ruleMatches(rule({ labels: { team: 'pay', app: 'api' } }), site(), {})).toBe(false);
    expect(ruleMatches(rule({ labels: { team: 'ops' } }), site(), { team: 'ops' })).toBe(true);
  });
  it('all conditions must hold; an empty match takes every pod', () => {
    expect(ruleMatches(rule({ kinds: ['Deployment'], names: ['other'] }), site(), {})).toBe(false);
    expect(ruleMatches(rule({}), site(), {})).toBe(true);
  });
});

describe('resolveSettings', () => {
  it('defaults, then matching rules in order: sections merge per key, later wins, scalars replace', () => {
    const p = policy(
      [
        { match: { kinds: ['Deployment'] }, proxy: { timeout: '40s' }, app: { delay: '8s' }, gracePeriod: '60s' },
        { match: { kinds: ['Job'] }, proxy: { timeout: '1s' }, via: 'template' },
        { match: { names: ['checkout-*'] }, proxy: { interval: '1s' }, containers: { api: { sleep: '3s' } }, via: 'template' },
      ],
      { proxy: { timeout: '20s', waitFor: ['app-listeners'] }, app: { shutdown: '10s' }, containers: { web: { sleep: '2s' } } },
    );
    expect(resolveSettings(p, site(), {})).toEqual({
      proxy: { timeout: '40s', waitFor: ['app-listeners'], interval: '1s' },
      app: { shutdown: '10s', delay: '8s' },
      containers: { web: { sleep: '2s' }, api: { sleep: '3s' } },
      gracePeriod: '60s',
      via: 'template',
    });
  });
  it('never changes the policy it reads (two pods, two answers)', () => {
    const p = policy([{ match: { names: ['a'] }, proxy: { timeout: '9s' } }], { proxy: { timeout: '1s' } });
    expect(resolveSettings(p, site({ name: 'a' }), {}).proxy?.timeout).toBe('9s');
    expect(resolveSettings(p, site({ name: 'b' }), {}).proxy?.timeout).toBe('1s');
    expect(p.defaults.proxy?.timeout).toBe('1s');
  });
  it('every setting the schema knows takes part in rule merging (a new one cannot be silently dropped)', () => {
    const samples: Record<string, unknown> = { proxy: { timeout: '3s' }, app: { delay: '1s' }, containers: { x: { sleep: '1s' } }, gracePeriod: '45s', via: 'template' };
    for (const key of Object.keys(Settings.shape)) {
      expect(samples, `add a sample for the new setting "${key}"`).toHaveProperty(key);
      const got = resolveSettings(policy([{ match: {}, [key]: samples[key] } as RuleT]), site(), {});
      expect((got as Record<string, unknown>)[key], key).toEqual(samples[key]);
    }
  });
});
