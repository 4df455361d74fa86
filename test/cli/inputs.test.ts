/** inject and lint read manifests the same way: inputs without manifests pass with a note, a directory without manifest files and a terminal on stdin are refused. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { cli } from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshdrain-inputs-'));
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'notes'));
  writeFileSync(join(dir, 'notes', 'README.md'), '# not a manifest\n');
  writeFileSync(join(dir, 'comments.yaml'), '# nothing here yet\n---\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n';
const CRD = 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n';

const noManifestFiles = (r: { code: number; stdout: string; stderr: string }, where: string) => {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`meshdrain: ${where}: no .yaml, .yml, .json files in this directory\n`);
};

describe.each([
  ['inject', ['inject', '--check', '-R']],
  ['inject', ['inject', '-R']],
  ['lint', ['lint']],
])('%s: inputs without manifests (ADR 083)', (_name, argv) => {
  const noR = argv.filter((a) => a !== '-R');
  /** No manifests is a pass: exit 0, the input unchanged on stdout (inject), one note on stderr. */
  const passes = (r: { code: number; stdout: string; stderr: string }, where: string, input: string) => {
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe(`meshdrain: no manifests in ${where}`);
    expect(r.stderr).not.toMatch(/no pod templates/); // one note, not two
    if (argv[0] === 'inject' && !argv.includes('--check')) expect(r.stdout).toBe(input);
    if (argv.includes('--check')) expect(r.stdout).toBe('');
    if (argv[0] === 'lint') expect(r.stdout).toBe('no findings\n');
  };
  it('a directory with no manifest files is still exit 2, naming it: a wrong path, not an empty input', () => {
    noManifestFiles(cli([...argv, join(dir, 'empty')]), join(dir, 'empty'));
    noManifestFiles(cli([...argv, join(dir, 'notes'), join(dir, 'empty')]), join(dir, 'notes'));
  });
  it('empty stdin, or only comments and bare ---: exit 0, passed through, one note (a Helm post-renderer on a chart that renders nothing)', () => {
    passes(cli(noR, { input: '' }), '<stdin>', '');
    passes(cli(noR, { input: '# just a comment\n---\n---\n' }), '<stdin>', '# just a comment\n---\n---\n');
  });
  it('a named empty or comment-only file: exit 0, one note (pre-commit passes only the changed files)', () => {
    writeFileSync(join(dir, 'e.yaml'), '');
    passes(cli([...argv, join(dir, 'e.yaml')]), join(dir, 'e.yaml'), '');
    passes(cli([...argv, join(dir, 'comments.yaml')]), join(dir, 'comments.yaml'), '# nothing here yet\n---\n');
  });
  it('a stream of only ConfigMaps and CRDs is not empty: exit 0, no note', () => {
    const r = cli(noR, { input: `${CONFIGMAP}---\n${CRD}` });
    expect(r.stderr).not.toMatch(/no manifests/);
    expect(r.code).toBe(0);
    if (argv[0] === 'inject' && !argv.includes('--check')) expect(r.stdout).toBe(`${CONFIGMAP}---\n${CRD}`);
  });
  it('one empty file beside a real one is fine, no note', () => {
    const f = join(dir, 'cm.yaml');
    writeFileSync(f, CONFIGMAP);
    const r = cli([...argv, f, join(dir, 'comments.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/no manifests/);
  });
});

describe('no PATH with a terminal on stdin', () => {
  it.each(['inject', 'lint'])('%s refuses with a usage line instead of waiting for input', async (cmd) => {
    let stderr = '';
    let read = false;
    const code = await run([cmd], {
      stdout: () => undefined,
      stderr: (t) => void (stderr += t),
      readStdin: async () => {
        read = true;
        return '';
      },
      cwd: dir,
      isStdinTTY: true,
      env: {},
    });
    expect(code).toBe(2);
    expect(read).toBe(false);
    expect(stderr).toBe('meshdrain: no input: give manifest files or directories, or pipe manifests to stdin (see --help)\n');
  });
});

describe('Helm charts in a directory walk (ADR 083)', () => {
  const TEMPLATE = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include "web.fullname" . }}\n  labels:\n    {{- include "web.labels" . | nindent 4 }}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: "{{ .Values.image }}"\n';
  let repo: string;
  beforeAll(() => {
    repo = join(dir, 'repo');
    mkdirSync(join(repo, 'k8s'), { recursive: true });
    mkdirSync(join(repo, 'chart', 'templates'), { recursive: true });
    mkdirSync(join(repo, 'chart', 'charts', 'sub', 'templates'), { recursive: true });
    mkdirSync(join(repo, 'chart', 'crds'), { recursive: true });
    writeFileSync(join(repo, 'k8s', 'cm.yaml'), CONFIGMAP);
    writeFileSync(join(repo, 'chart', 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 0.1.0\n');
    writeFileSync(join(repo, 'chart', 'values.yaml'), 'image: nginx\n');
    writeFileSync(join(repo, 'chart', 'crds', 'crd.yaml'), CRD);
    writeFileSync(join(repo, 'chart', 'templates', 'deploy.yaml'), TEMPLATE);
    writeFileSync(join(repo, 'chart', 'charts', 'sub', 'Chart.yaml'), 'apiVersion: v2\nname: sub\nversion: 0.1.0\n');
    writeFileSync(join(repo, 'chart', 'charts', 'sub', 'templates', 'svc.yaml'), 'kind: Service\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n');
  });
  const runIn = async (argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await run(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), readStdin: async () => '', cwd: dir, isStdinTTY: false, env: {} });
    return { code, stdout, stderr };
  };
  const NOTE = 'meshdrain: skipped Helm chart templates under repo/chart/charts, repo/chart/templates: render them first (helm template) and pipe the result\n';

  it.each([
    [['lint', 'repo']],
    [['lint', '-f', 'sarif', 'repo']],
    [['inject', '--check', '-R', 'repo']],
    [['inject', '-R', 'repo']],
  ])('%j: the chart\'s templates/ and charts/ are left out, said once on stderr; the rest is read (exit 0)', async (argv) => {
    const r = await runIn(argv);
    expect(r.stderr, r.stderr).toContain(NOTE);
    expect(r.stderr.split(NOTE)).toHaveLength(2);
    expect(r.code, r.stderr).toBe(0);
    if (argv[0] === 'inject' && !argv.includes('--check')) expect(r.stdout).toContain('name: widgets.example.com'); // crds/ is read
  });

  it('a template named explicitly is still read: the syntax error says it looks like a template', async () => {
    const r = await runIn(['lint', 'repo/chart/templates/deploy.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^meshdrain: repo\/chart\/templates\/deploy\.yaml:\d+:\d+: YAML syntax error: .*; the file looks like a Go\/Helm template: render it first \(helm template\) and pipe the result\n$/);
    // Plain YAML with a syntax error gets no such hint.
    writeFileSync(join(dir, 'broken.yaml'), 'kind: [broken\n');
    expect((await runIn(['lint', 'broken.yaml'])).stderr).not.toMatch(/template/);
  });

  it.each([[['lint']], [['inject', '--check']], [['inject']]])('%j: a template that happens to parse ({{ .Release.Name }} is a flow map) is refused as a template, at the action, without a Node warning', async (argv) => {
    writeFileSync(join(dir, 'parses.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n');
    const r = await runIn([...argv, 'parses.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('meshdrain: parses.yaml:4:9: a mapping key that is itself a mapping or list; the file looks like a Go/Helm template: render it first (helm template) and pipe the result\n');
    // A template action at the very start of the file (offset 0) too.
    writeFileSync(join(dir, 'first.yaml'), '{{ toYaml .Values.extraManifests }}\n');
    expect((await runIn([...argv, 'first.yaml'])).stderr).toBe('meshdrain: first.yaml:1:1: a mapping key that is itself a mapping or list; the file looks like a Go/Helm template: render it first (helm template) and pipe the result\n');
    // Template actions inside strings are not templates: Prometheus or Argo values pass.
    writeFileSync(join(dir, 'strings.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: alerts\ndata:\n  summary: Instance {{ $labels.instance }} down\n  q: "{{ .x }}"\n');
    expect((await runIn([...argv, 'strings.yaml'])).code).toBe(0);
  });

  it('a directory without Chart.yaml keeps its templates/ directory', async () => {
    mkdirSync(join(dir, 'plain', 'templates'), { recursive: true });
    writeFileSync(join(dir, 'plain', 'templates', 'cm.yaml'), CONFIGMAP);
    const r = await runIn(['inject', '-R', 'plain']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(CONFIGMAP);
    expect(r.stderr).not.toMatch(/Helm/);
  });
});
