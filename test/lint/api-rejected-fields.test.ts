// QA 8 item 7: fields the Kubernetes API rejects are bad input for lint and inject alike, through the one
// check (model/workload.ts podTemplateProblem): one line naming file:line:col, exit 2.
import { describe, expect, it } from 'vitest';
import { injectText } from '../../src/inject/inject.js';
import { expectInputError } from '../helpers/errors.js';
import { lintCli } from './helpers.js';

const deployment = (spec: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: a
spec:
  template:
    spec:
${spec}`;

const CASES: [string, string, RegExp][] = [
  ['a fractional grace period', '      terminationGracePeriodSeconds: 30.5\n      containers:\n      - name: a\n        image: a\n', /:8:38: Deployment\/a: terminationGracePeriodSeconds must be a whole number of seconds$/],
  ['a container without a name', '      containers:\n      - image: a\n', /:9:9: Deployment\/a: spec\.containers\[0\] needs a name$/],
  ['a string preStop sleep', '      containers:\n      - name: a\n        image: a\n        lifecycle:\n          preStop:\n            sleep:\n              seconds: "5"\n', /:14:24: Deployment\/a: a: lifecycle\.preStop\.sleep\.seconds must be a whole number of seconds \(unquote it: 5\)$/],
  ['a fractional preStop sleep', '      containers:\n      - name: a\n        image: a\n        lifecycle:\n          preStop:\n            sleep: {seconds: 2.5}\n', /:13:30: Deployment\/a: a: lifecycle\.preStop\.sleep\.seconds must be a whole number of seconds$/],
];

describe('API-rejected fields: lint and inject say the same, exit 2', () => {
  it.each(CASES)('%s', async (_, spec, pattern) => {
    const text = deployment(spec);
    const r = await lintCli(['--kube-version', '1.30', '-'], { stdin: text });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^meshdrain: <stdin>${pattern.source}`));
    expectInputError(() => injectText(text, 'd.yaml', { kubeVersion: { major: 1, minor: 30 } }), new RegExp(`^d\\.yaml${pattern.source}`));
  });
  it('a whole-number sleep is read and counted (the string was counted as no delay before)', async () => {
    const r = injectText(deployment('      containers:\n      - name: a\n        image: a\n        lifecycle:\n          preStop:\n            sleep:\n              seconds: 5\n'), 'd.yaml', { kubeVersion: { major: 1, minor: 30 } });
    // 5 (sleep) + 20 (app shutdown) + 0.5 (linger) + 5 (drain) + 2 (margin)
    expect(r.output).toMatch(/terminationGracePeriodSeconds: 33/);
    expect((await lintCli(['--kube-version', '1.30', '-'], { stdin: deployment('      containers:\n      - name: a\n        image: a\n') })).code).not.toBe(2);
  });
});
