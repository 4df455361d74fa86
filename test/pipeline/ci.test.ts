/**
 * The GitHub Action (action.yml) and the pre-commit hooks (.pre-commit-hooks.yaml), run here as the
 * runners run them: the action's lint step is its own `run` line with `${{ inputs.* }}` and
 * `${{ github.action_path }}` substituted and its `env` given; each hook's entry gets the file names.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, ROOT } from '../helpers/cli.js';

interface Step {
  name: string;
  id?: string;
  shell?: string;
  run?: string;
  uses?: string;
  'working-directory'?: string;
  env?: Record<string, string>;
}
interface Action {
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}
const action = parse(readFileSync(`${ROOT}action.yml`, 'utf8')) as Action;
const root = ROOT.replace(/\/$/, '');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshdrain-ci-'));
  // httpbin (warnings only) and a CronJob whose classic sidecar never lets it complete (an error).
  const cron = 'apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: "0 3 * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n          - name: report\n            image: busybox\n';
  writeFileSync(join(dir, 'bad.yaml'), `${readFileSync(`${ROOT}examples/istio-httpbin.yaml`, 'utf8')}---\n${cron}`);
  writeFileSync(join(dir, 'warn.yaml'), readFileSync(`${ROOT}examples/istio-httpbin.yaml`, 'utf8'));
  writeFileSync(join(dir, 'good.yaml'), spawnSync(process.execPath, [BIN, 'inject', join(dir, 'bad.yaml')], { encoding: 'utf8' }).stdout);
  writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: [\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** GitHub's expression substitution for the contexts the action uses. */
const substitute = (text: string, inputs: Record<string, string>) =>
  text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_m, expr: string) => {
    if (expr === 'github.action_path') return root;
    const m = /^inputs\.([\w-]+)$/.exec(expr);
    if (m) return inputs[m[1]!] ?? action.inputs[m[1]!]?.default ?? '';
    throw new Error(`unexpected expression ${expr}`);
  });

function runLintStep(given: Record<string, string>) {
  const step = action.runs.steps.find((s) => s.id === 'lint')!;
  const out = join(dir, `github-output-${Math.random().toString(36).slice(2)}`);
  writeFileSync(out, '');
  const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(v, given)]));
  const r = spawnSync(step.shell!, ['-c', substitute(step.run!, given)], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env, GITHUB_OUTPUT: out } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, output: readFileSync(out, 'utf8') };
}

/**
 * The `with:` of each step that uses the action in a document's indented code blocks: the block's
 * lines from the first `- uses:` on, parsed as the workflow YAML they are.
 */
function actionExamples(md: string): Record<string, unknown>[] {
  const blocks = md.split(/\n(?!    |\n)/).map((b) => b.split('\n').filter((l) => l.startsWith('    ') || l === '').map((l) => l.slice(4)).join('\n'));
  const out: Record<string, unknown>[] = [];
  for (const b of blocks) {
    if (!/- uses: <org>\/meshdrain@/.test(b)) continue;
    const from = b.slice(b.search(/^\s*- uses:/m));
    const steps = parse(from.replace(/^(\s*)- uses: <org>\//gm, '$1- uses: org/')) as { uses?: string; with?: Record<string, unknown> }[];
    for (const st of steps) if (st.uses?.startsWith('org/meshdrain@')) out.push(st.with ?? {});
  }
  return out;
}

describe('action.yml (composite)', () => {
  it('installs meshdrain with npm ci in the action checkout, then runs the lint step', () => {
    expect(action.runs.using).toBe('composite');
    const [install, lint] = action.runs.steps;
    expect(install!.run).toMatch(/^npm ci\b/);
    expect(install!['working-directory']).toBe('${{ github.action_path }}');
    expect(lint!.id).toBe('lint');
    expect(action.outputs['sarif-file']!.value).toBe('${{ steps.lint.outputs.sarif-file }}');
    for (const s of action.runs.steps) expect(s.shell).toBe('bash'); // composite run steps need a shell
  });

  it('findings at fail-on: exit 1, SARIF 2.1.0 with the findings written, text report in the log, output set', () => {
    const r = runLintStep({ paths: 'bad.yaml' });
    expect(r.code).toBe(1);
    const sarif = JSON.parse(readFileSync(join(dir, 'meshdrain.sarif'), 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results.length).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/bad\.yaml/);
    expect(r.output).toBe('sarif-file=meshdrain.sarif\n');
  });

  it('a clean manifest passes; warnings fail only with fail-on: warning; inputs reach the flags', () => {
    const clean = runLintStep({ paths: 'good.yaml', 'kube-version': '1.30', 'istio-version': '1.24', 'sarif-file': 'reports/clean.sarif' });
    expect(clean.stderr).toBe('');
    const findings = JSON.parse(readFileSync(join(dir, 'reports/clean.sarif'), 'utf8')).runs[0].results as { level: string }[];
    expect(findings.filter((f) => f.level === 'error')).toEqual([]);
    expect(clean.code).toBe(0);
    expect(runLintStep({ paths: 'good.yaml warn.yaml', 'sarif-file': 'warn.sarif' }).code).toBe(0);
    const strict = runLintStep({ paths: 'good.yaml\nwarn.yaml', 'fail-on': 'warning', 'sarif-file': 'strict.sarif' });
    expect(strict.code).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, 'strict.sarif'), 'utf8')).runs[0].results.length).toBeGreaterThan(findings.length);
  });

  it("the docs' Actions examples fail on the README's problem manifest (httpbin: proxy-exits-before-app is a warning there)", () => {
    // Every `uses: <org>/meshdrain@…` step in README.md and docs/pipelines.md, with its own fail-on and
    // versions, run on examples/istio-httpbin.yaml, the manifest the README shows the problem with.
    const examples = ['README.md', 'docs/pipelines.md'].flatMap((doc) => actionExamples(readFileSync(`${ROOT}${doc}`, 'utf8')).map((w) => ({ doc, w })));
    expect(examples.map((e) => e.doc)).toEqual(['README.md', 'docs/pipelines.md']);
    for (const { doc, w } of examples) {
      const given = Object.fromEntries(Object.entries(w).filter(([k]) => ['fail-on', 'kube-version', 'istio-version'].includes(k)).map(([k, v]) => [k, String(v)]));
      const r = runLintStep({ ...given, paths: 'warn.yaml', 'sarif-file': 'example.sarif' });
      expect({ doc, code: r.code }).toEqual({ doc, code: 1 });
      const rules = (JSON.parse(readFileSync(join(dir, 'example.sarif'), 'utf8')).runs[0].results as { ruleId: string }[]).map((x) => x.ruleId);
      expect(rules).toContain('proxy-exits-before-app');
    }
  });

  it('globs in paths are expanded (GitHub passes inputs as written); one that matches nothing is named, exit 2', () => {
    const r = runLintStep({ paths: 'w*.yaml **/g??d.yaml', 'sarif-file': 'glob.sarif' });
    expect(r.code, r.stderr).toBe(0);
    const uris = (JSON.parse(readFileSync(join(dir, 'glob.sarif'), 'utf8')).runs[0].results as { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[]).map((x) => x.locations[0]!.physicalLocation.artifactLocation.uri);
    expect(new Set(uris)).toEqual(new Set(['warn.yaml', 'good.yaml'])); // not bad.yaml nor broken.yaml
    const none = runLintStep({ paths: 'k8s/*.yaml', 'sarif-file': 'none.sarif' });
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('meshdrain: k8s/*.yaml: no such file or directory\n');
  });

  it('bad input: exit 2, one line naming the file, no SARIF left behind', () => {
    const r = runLintStep({ paths: 'broken.yaml', 'sarif-file': 'broken.sarif' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^meshdrain: broken\.yaml:\d+:\d+: /);
    expect(() => readFileSync(join(dir, 'broken.sarif'))).toThrow();
  });
});

describe('.pre-commit-hooks.yaml', () => {
  const hooks = parse(readFileSync(`${ROOT}.pre-commit-hooks.yaml`, 'utf8')) as Record<string, unknown>[];
  // pre-commit's clientlib.py MANIFEST_HOOK_DICT: required and optional keys.
  const REQUIRED = ['id', 'name', 'entry', 'language'];
  const OPTIONAL = ['alias', 'files', 'exclude', 'types', 'types_or', 'exclude_types', 'additional_dependencies', 'args', 'always_run', 'fail_fast', 'pass_filenames', 'description', 'language_version', 'log_file', 'minimum_pre_commit_version', 'require_serial', 'stages', 'verbose'];
  const run = (hook: Record<string, unknown>, files: string[]) => {
    const [cmd, ...args] = String(hook.entry).split(' ');
    expect(cmd).toBe('meshdrain'); // the package's bin, installed by pre-commit's node language
    return spawnSync(process.execPath, [BIN, ...args, ...((hook.args as string[]) ?? []), ...files], { cwd: dir, encoding: 'utf8' });
  };

  it('each hook has the keys pre-commit requires and no others; files matches manifests', () => {
    expect(hooks.map((h) => h.id)).toEqual(['meshdrain-inject-check', 'meshdrain-lint']);
    for (const h of hooks) {
      for (const k of REQUIRED) expect(h[k]).toBeTypeOf('string');
      expect(Object.keys(h).filter((k) => !REQUIRED.includes(k) && !OPTIONAL.includes(k))).toEqual([]);
      expect(h.language).toBe('node');
      const files = new RegExp(String(h.files));
      expect(['k8s/a.yaml', 'b.yml', 'c.json'].every((f) => files.test(f))).toBe(true);
      expect(files.test('README.md')).toBe(false);
    }
  });

  it('inject --check: 0 on injected manifests, 1 listing what would change, 2 on broken YAML', () => {
    const hook = hooks.find((h) => h.id === 'meshdrain-inject-check')!;
    expect(run(hook, ['good.yaml']).status).toBe(0);
    const bad = run(hook, ['good.yaml', 'bad.yaml']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^bad\.yaml:\d+:\d+: .*would /m);
    expect(run(hook, ['broken.yaml']).status).toBe(2);
  });

  it('lint: 1 on errors, 0 on injected manifests', () => {
    const hook = hooks.find((h) => h.id === 'meshdrain-lint')!;
    expect(run(hook, ['bad.yaml']).status).toBe(1);
    expect(run(hook, ['good.yaml']).status).toBe(0);
  });
});
