/** The inject command as a real process: exit codes, one-line errors, atomic writes. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { BIN, cli, ROOT } from '../helpers/cli.js';

let dir: string;
const DEPLOY = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshdrain-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const oneLineError = (r: { code: number; stdout: string; stderr: string }, pattern: RegExp) => {
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
};

describe('meshdrain inject (process)', () => {
  it('--diff: a unified diff that git apply takes, exit 1; after applying it, exit 0 and no output; refused with -i/-o/--check', () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-diff-'));
    try {
      mkdirSync(join(dir, 'k8s'));
      writeFileSync(join(dir, 'k8s', 'web.yaml'), DEPLOY);
      writeFileSync(join(dir, 'k8s', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
      const git = (...a: string[]) => spawnSync('git', a, { cwd: dir, encoding: 'utf8' });
      git('init', '-q');
      const d = cli(['inject', '--diff', '-R', 'k8s'], { cwd: dir });
      expect(d.code).toBe(1);
      expect(d.stdout).toMatch(/^--- a\/k8s\/web\.yaml\n\+\+\+ b\/k8s\/web\.yaml\n@@ /);
      expect(d.stdout).not.toContain('cm.yaml');
      expect(d.stderr).toContain('meshdrain: 1 of 2 file(s) would change\n');
      writeFileSync(join(dir, 'p.diff'), d.stdout);
      const applied = git('apply', 'p.diff');
      expect(applied.stderr).toBe('');
      expect(applied.status).toBe(0);
      expect(readFileSync(join(dir, 'k8s', 'web.yaml'), 'utf8')).toBe(cli(['inject'], { input: DEPLOY }).stdout);
      const again = cli(['inject', '--diff', '-R', 'k8s'], { cwd: dir });
      expect(again.code).toBe(0);
      expect(again.stdout).toBe('');
      expect(again.stderr).toContain('meshdrain: 2 file(s) up to date\n');
      const stdin = cli(['inject', '--diff'], { input: DEPLOY });
      expect(stdin.code).toBe(1);
      expect(stdin.stdout).toMatch(/^--- a\/stdin\n\+\+\+ b\/stdin\n/);
      for (const extra of [['-i'], ['-o', 'x.yaml'], ['--check']]) {
        const bad = cli(['inject', '--diff', ...extra, 'k8s/web.yaml'], { cwd: dir });
        expect(bad.code, extra.join(' ')).toBe(2);
        expect(bad.stderr.trim().split('\n'), extra.join(' ')).toHaveLength(1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads stdin and writes stdout when no path is given (Helm post-renderer contract)', () => {
    const r = cli(['inject'], { input: DEPLOY });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('proxy.istio.io/overrides:');
  });

  it('the same note for many workloads is printed once, then one line names the others; --verbose prints each', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => DEPLOY.replace('name: web\n', `name: web${i}\n`)).join('---\n');
    const notesOf = (stderr: string) => stderr.split('\n').filter((l) => /native sleep of 5s/.test(l));
    const r = cli(['inject'], { input: many(6) });
    expect(r.code).toBe(0);
    expect(notesOf(r.stderr)).toHaveLength(1);
    expect(notesOf(r.stderr)[0]).toMatch(/^meshdrain: <stdin>:\d+:\d+: Deployment\/web0: app containers get Kubernetes' native sleep of 5s/);
    expect(r.stderr).toContain('meshdrain: the same for 5 more workloads: Deployment/web1, Deployment/web2, Deployment/web3, … (--verbose lists each)\n');
    const v = cli(['inject', '--verbose'], { input: many(6) });
    expect(notesOf(v.stderr).map((l) => /Deployment\/web\d/.exec(l)![0])).toEqual(['Deployment/web0', 'Deployment/web1', 'Deployment/web2', 'Deployment/web3', 'Deployment/web4', 'Deployment/web5']);
    expect(v.stderr).not.toContain('the same for');
    // Two stay as they are: a summary would be no shorter.
    const two = cli(['inject'], { input: many(2) });
    expect(notesOf(two.stderr)).toHaveLength(2);
    expect(two.stderr).not.toContain('the same for');
  });

  it('--check lists the would-lines of each file in line and column order', () => {
    const f = join(ROOT, 'fixtures/inject/real/istio-bookinfo.yaml');
    const r = cli(['inject', '--check', f]);
    expect(r.code).toBe(1);
    const at = r.stdout.trim().split('\n').map((l) => /:(\d+):(\d+): /.exec(l.slice(f.length))!.slice(1).map(Number) as [number, number]);
    expect(at.length).toBeGreaterThan(5);
    expect(at).toEqual([...at].sort((a, b) => a[0] - b[0] || a[1] - b[1]));
  });

  it('--check exits 1 listing file:line:col, and 0 on its own output', () => {
    const f = join(dir, 'check.yaml');
    writeFileSync(f, DEPLOY);
    const r = cli(['inject', '--check', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/check\.yaml:\d+:\d+: Deployment\/web: would add annotations proxy\.istio\.io\/overrides/);
    expect(readFileSync(f, 'utf8')).toBe(DEPLOY);
    const out = join(dir, 'out.yaml');
    expect(cli(['inject', f, '-o', out]).code).toBe(0);
    expect(cli(['inject', '--check', out]).code).toBe(0);
  });

  it('-i rewrites changed files atomically and leaves every file untouched when one input is bad', () => {
    const sub = join(dir, 'tree');
    mkdirSync(join(sub, 'nested'), { recursive: true });
    writeFileSync(join(sub, 'a.yaml'), DEPLOY);
    writeFileSync(join(sub, 'nested', 'b.yml'), DEPLOY);
    writeFileSync(join(sub, 'nested', 'z.yaml'), 'kind: [broken\n');
    const bad = cli(['inject', '-R', '-i', sub]);
    oneLineError(bad, /z\.yaml:\d+:\d+: YAML syntax error/);
    expect(readFileSync(join(sub, 'a.yaml'), 'utf8')).toBe(DEPLOY);
    writeFileSync(join(sub, 'nested', 'z.yaml'), 'kind: ConfigMap\n');
    const ok = cli(['inject', '-R', '-i', sub]);
    expect(ok.code).toBe(0);
    expect(readFileSync(join(sub, 'nested', 'b.yml'), 'utf8')).toContain('istio-proxy');
    expect(readFileSync(join(sub, 'nested', 'z.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
    expect(readdirSync(join(sub, 'nested')).filter((n) => n.includes('meshdrain'))).toEqual([]); // no temp files left
  });

  // Root ignores directory permissions, so this runs only as a normal user.
  it.skipIf(process.getuid?.() === 0)('keeps the original when the write fails (read-only directory)', () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    writeFileSync(join(ro, 'a.yaml'), DEPLOY);
    chmodSync(ro, 0o555);
    oneLineError(cli(['inject', '-i', join(ro, 'a.yaml')]), /cannot write/);
    expect(readFileSync(join(ro, 'a.yaml'), 'utf8')).toBe(DEPLOY);
  });

  it('-i with one file named twice edits it once and says so ("updated 2 of 2" before)', () => {
    const f = join(dir, 'twice.yaml');
    writeFileSync(f, DEPLOY);
    const r = cli(['inject', '-i', f, f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('meshdrain: updated 1 of 1 file(s)\n');
    const once = readFileSync(f, 'utf8');
    expect(once.match(/istio-proxy/g)?.length).toBe(cli(['inject'], { input: DEPLOY }).stdout.match(/istio-proxy/g)?.length);
    // To stdout, the manifests once.
    writeFileSync(f, DEPLOY);
    expect(cli(['inject', f, f]).stdout).toBe(cli(['inject', f]).stdout);
  });

  // The errors a non-root user meets (root ignores permissions): as root the CLI runs as nobody.
  it('an output path the user cannot write: PATH: cannot write: <reason>, exit 2 (inject -o, image -o)', () => {
    const base = mkdtempSync(join(tmpdir(), 'meshdrain-perm-'));
    try {
      chmodSync(base, 0o755);
      writeFileSync(join(base, 'in.yaml'), DEPLOY, { mode: 0o644 });
      mkdirSync(join(base, 'locked'), { mode: 0o000 }); // lstat inside fails: EACCES
      mkdirSync(join(base, 'ro'));
      chmodSync(join(base, 'ro'), 0o555); // mkdtemp inside fails: EACCES
      chmodSync(join(base, 'locked'), 0o000);
      const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const run = (args: string[]) => {
        const r = spawnSync(process.execPath, [BIN, ...args], { cwd: base, encoding: 'utf8', input: '', ...as });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
      };
      // inject's notes about the workload come first; the error is the last line, and nothing else fails.
      const inj = run(['inject', '-o', 'locked/x.yaml', 'in.yaml']);
      expect(inj.code).toBe(2);
      expect(inj.stderr.trim().split('\n').at(-1)).toBe('meshdrain: locked/x.yaml: cannot write: permission denied');
      expect(inj.stderr).not.toMatch(/internal error|\n\s+at /);
      oneLineError(run(['image', '--istio-version', '1.24.2', '-o', 'ro/ctx']), /^meshdrain: ro\/ctx: cannot write: permission denied\n$/);
      expect(readdirSync(join(base, 'ro'))).toEqual([]);
    } finally {
      chmodSync(join(base, 'locked'), 0o755);
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('refuses bad input with one line, file:line:col and exit 2', () => {
    oneLineError(cli(['inject', join(dir, 'missing.yaml')]), /missing\.yaml: no such file or directory/);
    oneLineError(cli(['inject', dir]), /is a directory; pass -R/);
    const bin = join(dir, 'junk.yaml');
    writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe]));
    oneLineError(cli(['inject', bin]), /junk\.yaml:1:\d+: not UTF-8 text \(binary data or another encoding\)/);
    const bomb = join(dir, 'bomb.yaml');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    writeFileSync(bomb, `kind: ConfigMap\ndata:\n${levels.map((l) => `  ${l}`).join('\n')}\n`);
    oneLineError(cli(['inject', bomb]), /bomb\.yaml:1:1: more than \d+ YAML alias expansions/);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, 'x: ' + 'a'.repeat(50 * 1024 * 1024) + '\n');
    oneLineError(cli(['inject', big]), /big\.yaml: input is 50\.0 MiB/);
    oneLineError(cli(['inject', '-i'], { input: DEPLOY }), /-i\/--in-place needs files/);
    oneLineError(cli(['inject', '--via', 'nope']), /argument 'nope' is invalid|Allowed choices/);
  });

  it('refuses wrongly typed pod templates with the position instead of writing garbage', () => {
    const pod = (y: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  ${y}\n`;
    oneLineError(cli(['inject'], { input: pod('containers: {name: a}') }), /<stdin>:5:15: Pod\/x: spec\.containers must be a list/);
    oneLineError(cli(['inject'], { input: pod('containers: ["str"]') }), /<stdin>:5:16: Pod\/x: spec\.containers\[0\] must be a mapping/);
    oneLineError(cli(['inject'], { input: pod('containers: [{name: a, image: b, lifecycle: oops}]') }), /<stdin>:5:47: Pod\/x: a: lifecycle must be a mapping/);
    oneLineError(
      cli(['inject'], { input: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  annotations: {proxy.istio.io/config: 5}\nspec:\n  containers: [{name: a}]\n' }),
      /<stdin>:5:40: Pod\/x: metadata\.annotations\.proxy\.istio\.io\/config must be a string/,
    );
  });

  it('points an unknown YAML alias at the alias itself', () => {
    oneLineError(
      cli(['inject'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: *nope\n' }),
      /<stdin>:7:12: unknown YAML alias \*nope/,
    );
  });

  it('reports a bad policy with file:line:col and what was expected', () => {
    const p = join(dir, 'policy.yaml');
    writeFileSync(p, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy:\n    waitFor: [app-listeners, "file=/tmp/x; rm -rf /"]\n');
    oneLineError(cli(['inject', '-c', p], { input: DEPLOY }), /policy\.yaml:5:\d+: waitFor: file: expected an absolute path/);
    writeFileSync(p, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy:\n    timeout: soon\n');
    oneLineError(cli(['inject', '-c', p], { input: DEPLOY }), /policy\.yaml:5:14: invalid ShutdownPolicy: defaults\.proxy\.timeout/);
    writeFileSync(p, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxee: {}\n');
    oneLineError(cli(['inject', '-c', p], { input: DEPLOY }), /policy\.yaml:4:3: invalid ShutdownPolicy: defaults: unknown field "proxee"/);
    writeFileSync(p, 'deployment:\n  web:\n    web: "/bin/sh -c stop"\n');
    oneLineError(cli(['inject', '-c', p], { input: DEPLOY }), /policy\.yaml:3:10: invalid legacy policy/);
    // A policy file that holds none (emptied by a failed redirect) is not the defaults in silence.
    for (const text of ['', '# only a comment\n', '---\n']) {
      writeFileSync(p, text);
      oneLineError(cli(['inject', '-c', p], { input: DEPLOY }), /policy\.yaml: holds no policy \(empty, or only comments\)/);
    }
  });

  it('prints help with an example', () => {
    const r = cli(['inject', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--post-renderer meshdrain --post-renderer-args inject');
  });
});

describe('meshdrain inject: the run context and data-plane modes on the command line', () => {
  const NS = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: plain\n';
  const inPlain = DEPLOY.replace('  name: web\n', '  name: web\n  namespace: plain\n');

  it('--explain prints each workload: mode, why, what was written; the unknown note comes once without it', () => {
    const both = `${DEPLOY}---\n${DEPLOY.replace('name: web\nspec', 'name: api\nspec')}`;
    const plain = cli(['inject'], { input: both });
    expect(plain.code).toBe(0);
    expect(plain.stderr.match(/may or may not get an Istio sidecar/g)).toHaveLength(1);
    expect(plain.stderr).toContain('2 workload(s)');
    const explained = cli(['inject', '--explain'], { input: both });
    expect(explained.stderr).toMatch(/<stdin>:\d+:\d+: Deployment\/web: unknown: injection may or may not happen: .*; wrote: the classic hold \(the proxy\.istio\.io\/overrides annotation\); the native drain/);
    expect(explained.stderr).toMatch(/Deployment\/api: unknown:/);
    expect(explained.stdout).toBe(plain.stdout);
  });

  it("the unknown note counts only workloads given istio-proxy settings: a Job gets only the nativeSidecar request, no carrier", () => {
    const JOB = 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: once\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: once\n        image: busybox:1.36\n';
    const jobOnly = cli(['inject'], { input: JOB });
    expect(jobOnly.code).toBe(0);
    expect(jobOnly.stdout).toContain('sidecar.istio.io/nativeSidecar');
    expect(jobOnly.stderr).not.toMatch(/may or may not get an Istio sidecar/);
    const both = cli(['inject'], { input: `${JOB}---\n${DEPLOY}` });
    expect(both.stderr).toMatch(/meshdrain: 1 workload\(s\) may or may not get an Istio sidecar/);
  });

  it('a Namespace in another input of the same run decides the mode: not meshed, no istio-proxy carrier', () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'meshdrain-ns-'));
    try {
      writeFileSync(join(dir2, 'a-ns.yaml'), NS);
      writeFileSync(join(dir2, 'b-web.yaml'), inPlain);
      const r = cli(['inject', '--explain', join(dir2, 'a-ns.yaml'), join(dir2, 'b-web.yaml')]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/Deployment\/web: none: not meshed: Namespace plain \(.*a-ns\.yaml:4\)/);
      expect(r.stdout).not.toContain('istio-proxy');
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
  });

  it('--kube-version, --istio-version and --mesh-config are read as lint reads them; a bad one is one line, exit 2', () => {
    const old = cli(['inject', '--kube-version', '1.28'], { input: DEPLOY });
    expect(old.code).toBe(0);
    expect(old.stdout).not.toMatch(/\bsleep:\n/);
    expect(old.stderr).toMatch(/no app delay can be written for web: Kubernetes 1\.28 has no preStop sleep action/);
    const bad = cli(['inject', '--kube-version', 'one.two'], { input: DEPLOY });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const values = join(dir, 'values.yaml');
    writeFileSync(values, 'pilot:\n  env:\n    ENABLE_NATIVE_SIDECARS: "true"\nglobal:\n  tag: 1.28.0\n');
    const native = cli(['inject', '--explain', '--mesh-config', values], { input: `${NS.replace('plain\n', 'plain\n  labels: {istio-injection: enabled}\n')}---\n${inPlain}` });
    expect(native.stderr).toMatch(/Deployment\/web: native: /);
    const noMesh = join(dir, 'nomesh.yaml');
    writeFileSync(noMesh, 'kind: Secret\n');
    const refused = cli(['inject', '--mesh-config', noMesh], { input: DEPLOY });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/nomesh\.yaml:1:1: no mesh settings found/);
  });

  it('--via template says once that istiod must have the template, and how to check', () => {
    const r = cli(['inject', '--via', 'template'], { input: `${DEPLOY}---\n${DEPLOY.replace('name: web\nspec', 'name: api\nspec')}` });
    expect(r.code).toBe(0);
    expect(r.stderr.match(/requested template not found/g)).toHaveLength(1);
    expect(r.stderr).toContain("kubectl -n istio-system get cm istio-sidecar-injector -o jsonpath='{.data.config}' | grep -n '^  meshdrain:'");
    // The annotation replaces the injector's defaultTemplates for the pod: said while they are unknown.
    expect(r.stderr).toMatch(/now names "sidecar,meshdrain", which replaces the injector's defaultTemplates for it: if yours are not \[sidecar\], give that ConfigMap with --mesh-config/);
    const dir = mkdtempSync(join(tmpdir(), 'md-defaults-'));
    const values = join(dir, 'values.yaml');
    writeFileSync(values, 'sidecarInjectorWebhook:\n  defaultTemplates: [sidecar, spire]\n');
    const known = cli(['inject', '--via', 'template', '--mesh-config', values], { input: DEPLOY });
    expect(known.code).toBe(0);
    expect(known.stderr).not.toMatch(/defaultTemplates/);
    expect(parse(known.stdout).spec.template.metadata.annotations['inject.istio.io/templates']).toBe('sidecar,spire,meshdrain');
  });
});
