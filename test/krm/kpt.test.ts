/**
 * meshdrain run by the real kpt (kpt fn eval --exec, kpt fn render with a Kptfile pipeline): kpt
 * builds the ResourceList from a package's files, runs meshdrain, writes the items back to the files
 * and the results to --results-dir. This is the contract test against an orchestrator, not a fixture.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { BIN } from '../helpers/cli.js';
import { needTools } from '../helpers/tools.js';

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # the storefront
  namespace: shop
spec:
  template:
    spec:
      containers:
      # the app itself
      - name: web
        image: nginx:1.27
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: report
            image: busybox
`;
const SVC = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  ports:\n  - port: 80\n';
const POLICY = 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\nmetadata:\n  name: meshdrain\ndefaults:\n  app: {delay: 10s}\n';

interface KrmResult {
  message: string;
  severity: string;
  resourceRef?: Record<string, string>;
  field?: { path: string };
  file?: { path: string; index?: number };
  tags?: Record<string, string>;
}
interface FunctionResultList {
  exitCode: number;
  items: { exec: string; exitCode: number; results?: KrmResult[] }[];
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshdrain-kpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A fresh kpt package: web.yaml (Deployment + CronJob), svc.yaml, and extra files. */
function pkg(extra: Record<string, string> = {}): string {
  const p = join(dir, `pkg${n++}`);
  mkdirSync(p);
  for (const [f, text] of Object.entries({ 'web.yaml': WEB, 'svc.yaml': SVC, ...extra })) writeFileSync(join(p, f), text);
  return p;
}
const exec = (cmd: 'inject' | 'lint') => `${process.execPath} ${BIN} ${cmd}`;
function kpt(args: string[]) {
  const results = join(dir, `results${n++}`);
  // --results-dir before `--`: everything after it is a function argument
  const dash = args.indexOf('--');
  const argv = dash < 0 ? [...args, '--results-dir', results] : [...args.slice(0, dash), '--results-dir', results, ...args.slice(dash)];
  const r = spawnSync('kpt', argv, { encoding: 'utf8' });
  let list: FunctionResultList | undefined;
  try {
    list = parse(readFileSync(join(results, 'results.yaml'), 'utf8')) as FunctionResultList;
  } catch {
    list = undefined;
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, results: list?.items.flatMap((i) => i.results ?? []) ?? [], list };
}
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS());
const plainInject = (args: string[], input: string) => spawnSync(process.execPath, [BIN, 'inject', ...args], { input, encoding: 'utf8' }).stdout;

describe('kpt fn eval --exec meshdrain inject', () => {
  needTools('kpt');

  it('--fn-config ShutdownPolicy: files edited as inject edits them, comments kept, results with resourceRef, file and field', () => {
    const p = pkg();
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    const r = kpt(['fn', 'eval', p, '--exec', exec('inject'), '--fn-config', join(dir, 'policy.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    const web = readFileSync(join(p, 'web.yaml'), 'utf8');
    writeFileSync(join(dir, 'policy-file.yaml'), POLICY);
    expect(docs(web)).toEqual(docs(plainInject(['-c', join(dir, 'policy-file.yaml')], WEB)));
    expect(web).toContain('name: web # the storefront');
    expect(web).toContain('      # the app itself\n      - name: web');
    expect(readFileSync(join(p, 'svc.yaml'), 'utf8')).toBe(SVC);
    expect(r.results.find((x) => x.resourceRef?.name === 'web')).toMatchObject({
      severity: 'info',
      resourceRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
      file: { path: 'web.yaml' }, // index 0: kpt leaves a zero index out
      field: { path: 'spec.template' },
      tags: { 'meshdrain.dev/change': 'true' },
    });
    expect(r.results.find((x) => x.resourceRef?.name === 'nightly' && x.tags)).toMatchObject({ file: { path: 'web.yaml', index: 1 }, field: { path: 'spec.jobTemplate.spec.template' } });
    expect(r.results.some((x) => x.resourceRef?.kind === 'Service')).toBe(false);
  });

  it('-- policy=… (a ConfigMap functionConfig) gives the same edits; a second run changes nothing', () => {
    const p = pkg();
    const r = kpt(['fn', 'eval', p, '--exec', exec('inject'), '--', `policy=${POLICY}`]);
    expect(r.code, r.stderr).toBe(0);
    const once = readFileSync(join(p, 'web.yaml'), 'utf8');
    writeFileSync(join(dir, 'policy-cm.yaml'), POLICY);
    expect(docs(once)).toEqual(docs(plainInject(['-c', join(dir, 'policy-cm.yaml')], WEB)));
    const again = kpt(['fn', 'eval', p, '--exec', exec('inject'), '--', `policy=${POLICY}`]);
    expect(again.code).toBe(0);
    expect(readFileSync(join(p, 'web.yaml'), 'utf8')).toBe(once);
    expect(again.results.filter((x) => x.tags?.['meshdrain.dev/change'])).toEqual([]);
  });

  it('a bad policy: kpt fails, the error result points into the functionConfig, no file is touched', () => {
    const p = pkg();
    const r = kpt(['fn', 'eval', p, '--exec', exec('inject'), '--', `policy=${POLICY.replace('10s', 'soon')}`]);
    expect(r.code).not.toBe(0);
    expect(r.list?.items[0]?.exitCode).toBe(2);
    expect(r.results).toEqual([expect.objectContaining({ severity: 'error', field: { path: 'functionConfig.data.policy' } })]);
    expect(readFileSync(join(p, 'web.yaml'), 'utf8')).toBe(WEB);
  });
});

describe('kpt fn eval --exec meshdrain lint (validator)', () => {
  needTools('kpt');

  it('an error finding fails kpt (exit 1), with rule, severity, resourceRef, file index and field; files unchanged', () => {
    const p = pkg();
    const r = kpt(['fn', 'eval', p, '--exec', exec('lint'), '--', 'kube-version=1.30']);
    expect(r.code).toBe(1);
    expect(r.list?.items[0]?.exitCode).toBe(1);
    const job = r.results.find((x) => x.tags?.['meshdrain.dev/rule'] === 'job-classic-sidecar');
    expect(job).toMatchObject({ severity: 'error', resourceRef: { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly' }, file: { path: 'web.yaml', index: 1 } });
    expect(job!.field!.path).toMatch(/^spec\.jobTemplate\.spec\.template\.spec/);
    expect(r.results.filter((x) => x.resourceRef?.name === 'web').map((x) => x.severity)).toEqual(['warning', 'warning']);
    expect(readFileSync(join(p, 'web.yaml'), 'utf8')).toBe(WEB);
  });

  it('fail-on=warning from kpt arguments fails on warnings alone', () => {
    const p = pkg({ 'web.yaml': WEB.slice(0, WEB.indexOf('---')) });
    expect(kpt(['fn', 'eval', p, '--exec', exec('lint'), '--', 'kube-version=1.30']).code).toBe(0);
    expect(kpt(['fn', 'eval', p, '--exec', exec('lint'), '--', 'kube-version=1.30', 'fail-on=warning']).code).toBe(1);
  });
});

describe('kpt fn render: a Kptfile pipeline with meshdrain as mutator and validator', () => {
  needTools('kpt');

  it('inject then lint: passes, files injected; without the mutator the validator stops the render', () => {
    const policy = POLICY.replace('metadata:\n', 'metadata:\n  annotations:\n    config.kubernetes.io/local-config: "true"\n');
    const kptfile = (mutators: boolean) =>
      `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\npipeline:\n${mutators ? `  mutators:\n  - exec: "${exec('inject')}"\n    configPath: policy.yaml\n` : ''}  validators:\n  - exec: "${exec('lint')}"\n    configMap:\n      kube-version: "1.30"\n`;
    const good = pkg({ 'policy.yaml': policy, Kptfile: kptfile(true) });
    const r = kpt(['fn', 'render', good, '--allow-exec']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.list?.items.map((i) => i.exitCode)).toEqual([0, 0]);
    cpSync(join(good, 'policy.yaml'), join(dir, 'policy-render.yaml'));
    expect(docs(readFileSync(join(good, 'web.yaml'), 'utf8'))).toEqual(docs(plainInject(['-c', join(dir, 'policy-render.yaml')], WEB)));
    expect(readFileSync(join(good, 'policy.yaml'), 'utf8')).toBe(policy); // the functionConfig is not an item to edit

    const bare = pkg({ Kptfile: kptfile(false) });
    const v = kpt(['fn', 'render', bare, '--allow-exec']);
    expect(v.code).not.toBe(0);
    expect(v.results.some((x) => x.severity === 'error' && x.tags?.['meshdrain.dev/rule'] === 'job-classic-sidecar')).toBe(true);
  });
});
