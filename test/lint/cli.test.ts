/** The lint command: formats, exit codes (0/1/2), stdin, directories, bad input in one line. */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { FIX, lintCli, lintJson } from './helpers.js';

const R = `${FIX}rules/`;
const tmp = mkdtempSync(join(tmpdir(), 'meshdrain-lint-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('exit codes', () => {
  it('0 when nothing reaches --fail-on, 1 when something does', async () => {
    const clean = await lintCli([`${FIX}clean.yaml`]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe('no findings\n');
    const errors = await lintCli([`${R}hook-envoy-only-filter/fail-seed-001-template-prestop.yaml`]);
    expect(errors.code).toBe(1);
  });
  it('warnings alone exit 0 by default and 1 with --fail-on warning', async () => {
    const file = `${R}app-no-prestop-delay/fail-no-prestop.yaml`;
    const { findings } = await lintJson([file, '--app-shutdown', '1s']);
    expect(findings.map((f) => f.severity)).not.toContain('error');
    expect(findings.length).toBeGreaterThan(0);
    expect((await lintCli([file, '--app-shutdown', '1s'])).code).toBe(0);
    expect((await lintCli([file, '--app-shutdown', '1s', '--fail-on', 'warning'])).code).toBe(1);
  });
  it('2 on a YAML error, naming file:line:col in one line, stdout empty', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\nspec: {}\n');
    const r = await lintCli([bad]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^meshdrain: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
  });
  it('2 on a bad annotation, a bad duration, a missing file, bad flags', async () => {
    const pod = (ann: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    proxy.istio.io/config: |\n      ${ann}\nspec:\n  containers: [{name: a, image: a}]\n`;
    const a = await lintCli(['-'], { stdin: pod('terminationDrainDuration: forever') });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^meshdrain: <stdin>:7:\d+: terminationDrainDuration: expected a duration/);
    const b = await lintCli(['-'], { stdin: pod('{ "unclosed": ') });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^meshdrain: <stdin>:\d+:\d+: proxy\.istio\.io\/config: not valid YAML\/JSON/);
    expect((await lintCli([join(tmp, 'missing.yaml')])).code).toBe(2);
    expect((await lintCli(['--kube-version', 'latest', `${FIX}clean.yaml`])).stderr).toMatch(/--kube-version: expected a version like 1.29/);
    expect((await lintCli(['-f', 'xml'])).code).toBe(2);
    expect((await lintCli(['--fail-on', 'never'])).code).toBe(2);
  });
});

describe('inputs', () => {
  it('reads stdin when no path is given', async () => {
    const text = (await import('node:fs')).readFileSync(`${R}job-classic-sidecar/fail-job.yaml`, 'utf8');
    const { findings } = await lintJson([], { stdin: text });
    expect(findings.map((f) => f.rule)).toContain('job-classic-sidecar');
    expect(findings.every((f) => f.file === '<stdin>')).toBe(true);
  });
  it('walks directories recursively, in a stable order, and picks up mesh settings found there', async () => {
    const dir = join(tmp, 'tree');
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    const { readFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'a', 'b', 'job.yml'), readFileSync(`${R}job-classic-sidecar/fail-job.yaml`));
    writeFileSync(join(dir, 'z.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a', ports: [{ containerPort: 80 }] }] } }));
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    const { findings } = await lintJson([dir, '--app-shutdown', '1s']);
    const files = [...new Set(findings.map((f) => f.file))];
    expect(files).toEqual([join(dir, 'a', 'b', 'job.yml'), join(dir, 'z.json')]);
    // JSON input gets positions too.
    const z = findings.find((f) => f.file.endsWith('z.json'))!;
    expect(z.line).toBe(1);
    expect(z.column).toBeGreaterThan(1);
    // An injector ConfigMap in the tree saying Istio 1.22 makes the annotation useless.
    writeFileSync(join(dir, 'injector.yaml'), readFileSync(`${FIX}mesh/injector-values-lifecycle.yaml`));
    writeFileSync(join(dir, 'a', 'b', 'job.yml'), readFileSync(`${R}job-classic-sidecar/pass-native-annotation.yaml`));
    const again = await lintJson([dir]);
    expect(again.findings.map((f) => f.rule)).toContain('native-sidecar-ignored');
  });
  it('says on stderr when the input has no pod templates', async () => {
    const r = await lintCli(['-'], { stdin: 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/no pod templates/);
  });
});

describe('formats', () => {
  const file = `${R}hook-envoy-only-filter/fail-seed-001-template-prestop.yaml`;
  it('JSON: exactly the documented fields', async () => {
    const r = await lintCli(['-f', 'json', file]);
    const parsed = JSON.parse(r.stdout) as { findings: Record<string, unknown>[] };
    expect(Object.keys(parsed)).toEqual(['findings']);
    for (const f of parsed.findings) {
      expect(Object.keys(f)).toEqual(['rule', 'severity', 'message', 'file', 'line', 'column', 'fix']);
      expect(['error', 'warning', 'info']).toContain(f.severity);
    }
  });
  it('text: grouped by file, line:col, the source line, a caret under the node, the fix, a summary', async () => {
    const r = await lintCli([file, `${R}job-classic-sidecar/fail-job.yaml`]);
    const out = r.stdout;
    expect(out.indexOf(file)).toBe(0);
    expect(out).toContain(`${R}job-classic-sidecar/fail-job.yaml\n`);
    const lines = out.split('\n');
    const i = lines.findIndex((l) => /hook-envoy-only-filter$/.test(l));
    const [, line, col] = /^\s+(\d+):(\d+)\s/.exec(lines[i]!)!;
    expect(Number(line)).toBe(20);
    const src = lines[i + 1]!;
    const caret = lines[i + 2]!;
    // The caret sits under `grep -v envoy`'s grep, in the block scalar's own line.
    expect(caret.indexOf('^')).toBe(src.indexOf('grep -v envoy'));
    expect(caret.indexOf('^') - 4).toBe(Number(col) - 1);
    expect(lines[i + 3]).toMatch(/^\s+fix: /);
    expect(lines.at(-2)).toMatch(/^\d+ errors?(, \d+ warnings?)? in 2 files$/);
  });
  it('--list-rules and --help (with an example)', async () => {
    const list = await lintCli(['--list-rules']);
    expect(list.stdout).toMatch(/^grace-period-too-short\s+error/m);
    const help = await lintCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:\n\s+meshdrain lint/);
  });
  it('the built binary runs it as a real process', () => {
    const r = cli(['lint', '-f', 'json', file]);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { findings: unknown[] }).findings.length).toBeGreaterThan(0);
  });
});

describe('hostile input', () => {
  it('control characters in a manifest never reach the terminal raw', async () => {
    const evil = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "x\\e]0;pwned\\a\\e[2J"\nspec:\n  containers:\n  - name: "a\\e[31m"\n    image: a\n    ports: [{containerPort: 80}]\n';
    const r = await lintCli(['-'], { stdin: evil });
    expect(r.stdout).toMatch(/app-no-prestop-delay/);
    expect(r.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(r.stdout).toContain('\\x1b');
  });
});
