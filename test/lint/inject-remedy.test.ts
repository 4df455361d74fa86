/**
 * A finding that says "run meshdrain inject" says what inject would really do to this pod: the same
 * derivation decides both (lint's pod.injected is podShutdownFacts with the default policy).
 */
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { run } from '../../src/cli/run.js';
import { lintJson, ROOT } from './helpers.js';

const pod = (kind: 'Job' | 'Deployment') => `apiVersion: ${kind === 'Job' ? 'batch/v1' : 'apps/v1'}
kind: ${kind}
metadata:
  name: work
spec:
${kind === 'Deployment' ? '  selector: {matchLabels: {app: work}}\n' : ''}  template:
    metadata:
      labels: {app: work}
    spec:
${kind === 'Job' ? '      restartPolicy: Never\n' : ''}      containers:
      - name: work
        image: work:1
        ports: [{containerPort: 8080}]
        lifecycle: {preStop: {exec: {command: ["sleep", "10"]}}}
`;

async function injectOut(text: string): Promise<Record<string, any>> {
  let stdout = '';
  const code = await run(['inject', '-'], { stdout: (t) => void (stdout += t), stderr: () => undefined, readStdin: async () => text, cwd: ROOT, isStdinTTY: false, env: {} });
  expect(code).toBe(0);
  return parseAllDocuments(stdout)[0]!.toJS();
}

describe('proxy-exits-before-app: the fix is what inject would write', () => {
  it('a Deployment: a hold on istio-proxy, and the grace period inject sets', async () => {
    const { findings } = await lintJson(['-'], { stdin: pod('Deployment') });
    const f = findings.find((x) => x.rule === 'proxy-exits-before-app');
    expect(f).toBeDefined();
    const out = await injectOut(pod('Deployment'));
    const grace = out.spec.template.spec.terminationGracePeriodSeconds as number;
    expect(f!.fix).toContain('preStop hold');
    expect(f!.fix).toContain(`terminationGracePeriodSeconds: ${grace}`);
    expect(f!.fix).not.toContain('nativeSidecar');
  });
  it('a Job: a native sidecar, not a hold (a hold cannot help a Job)', async () => {
    const { findings } = await lintJson(['-'], { stdin: pod('Job') });
    const f = findings.find((x) => x.rule === 'proxy-exits-before-app');
    expect(f).toBeDefined();
    const out = await injectOut(pod('Job'));
    expect(out.spec.template.metadata.annotations['sidecar.istio.io/nativeSidecar']).toBe('true');
    expect(f!.fix).toContain('sidecar.istio.io/nativeSidecar: "true"');
    expect(f!.fix).not.toContain('hold');
  });
});
