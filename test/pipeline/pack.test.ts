/**
 * The package as a user gets it: `npm pack`, `npm install <tarball>` in an empty directory with
 * --offline (so nothing can come from the registry: the package needs no runtime dependency), then
 * the installed bins run from there — proving `files`, `bin`, the executable bit and that no dev
 * dependency (nor this checkout's node_modules) is needed at run time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT, runAsync } from '../helpers/cli.js';

let dir: string;
let app: string;
let files: string[];
const npm = (args: string[], cwd: string) => runAsync('npm', args, { cwd, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshdrain-pack-'));
  // dist/ is built by npm test's pretest; --ignore-scripts packs exactly that. The manifest is
  // stripped as prepack does it (after its build), and put back as postpack does.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.prepack).toMatch(/&& node scripts\/pack-manifest\.mjs strip$/);
  expect(pkg.scripts.postpack).toBe('node scripts/pack-manifest.mjs restore');
  const manifest = (mode: string) => spawnSync(process.execPath, [join(ROOT, 'scripts/pack-manifest.mjs'), mode], { encoding: 'utf8' });
  expect(manifest('strip').status).toBe(0);
  let packed;
  try {
    packed = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
  } finally {
    expect(manifest('restore').status).toBe(0);
  }
  if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string; mode: number }[] }[];
  files = info[0]!.files.map((f) => f.path);
  app = join(dir, 'app');
  mkdirSync(app);
  const installed = await npm(['install', '--prefer-offline', '--no-package-lock', join(dir, info[0]!.filename)], app);
  if (installed.status !== 0) throw new Error(`npm install of the tarball failed: ${installed.stderr}`);
  installLog = installed.stderr;
  packedManifest = JSON.parse(readFileSync(join(app, 'node_modules/meshdrain/package.json'), 'utf8'));
  packedReadme = readFileSync(join(app, 'node_modules/meshdrain/README.md'), 'utf8');
}, 180_000);
let installLog = '';
let packedManifest: { scripts?: Record<string, string> } = {};
let packedReadme = '';
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (bin: string, args: string[], input = '') => spawnSync(join(app, 'node_modules', '.bin', bin), args, { cwd: app, input, encoding: 'utf8' });

describe('the packed package', () => {
  it('holds the bundle, the lab agent, the Helm plugin and the schema — not sources or tests', () => {
    // LICENSE: package.json says Apache-2.0, and the license text travels with the code it covers.
    for (const f of ['dist/cli/main.js', 'plugin.yaml', 'schema/shutdown-policy.schema.json', 'README.md', 'package.json', 'LICENSE']) expect(files).toContain(f);
    if (existsSync(join(ROOT, 'src/lab/agent/main.ts'))) expect(files).toContain('dist/lab/agent/main.js');
    expect(files.filter((f) => /^(src|test|bench|fixtures)\//.test(f))).toEqual([]);
  });

  it('has no install script a user is asked to allow (npm 11 lists a tarball\'s `prepare` too), and npm says so for none of meshdrain\'s', () => {
    const install = ['preinstall', 'install', 'postinstall', 'prepare'].filter((s) => packedManifest.scripts?.[s] !== undefined);
    expect(install).toEqual([]);
    expect(installLog).not.toMatch(/install-scripts[^\n]*\bmeshdrain@/);
    // The checkout keeps its build on `npm ci`.
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.prepare).toBe('node scripts/prepare.mjs');
  });

  it("every relative link of the packed README points into the package (a file, a directory, or a heading)", () => {
    const slug = (h: string) => h.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
    const headings = new Set([...packedReadme.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1]!)));
    const links = [...packedReadme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l));
    expect(links.length).toBeGreaterThan(5);
    const dead = links.filter((l) => {
      if (l.startsWith('#')) return !headings.has(l.slice(1));
      const path = l.replace(/#.*$/, '').replace(/^\.\//, '');
      return !files.some((f) => f === path || f.startsWith(path.endsWith('/') ? path : `${path}/`));
    });
    expect(dead).toEqual([]);
  });

  it('installs without any dev dependency, with an executable bin', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    const installed = readdirSync(join(app, 'node_modules')).flatMap((n) => (n.startsWith('@') ? readdirSync(join(app, 'node_modules', n)).map((m) => `${n}/${m}`) : [n]));
    // The bundles carry every library (scripts/build.mjs): the package installs nothing beside itself,
    // so no dependency's install script runs (protobufjs's postinstall did, QA8 F6).
    expect(installed.filter((n) => !n.startsWith('.'))).toEqual(['meshdrain']);
    expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
    const main = join(app, 'node_modules/meshdrain/dist/cli/main.js');
    expect(statSync(main).mode & 0o111).not.toBe(0);
  });

  it('npx meshdrain --version, kubectl-meshdrain --help', () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    const v = spawnSync('npx', ['--no-install', 'meshdrain', '--version'], { cwd: app, encoding: 'utf8' });
    expect([v.status, v.stdout.trim()]).toEqual([0, version]);
    expect(run('kubectl-meshdrain', ['--help']).stdout).toMatch(/Commands:\n\s+inject/);
  });

  it('inject, lint, hook and the KRM door run from the installed package', () => {
    const example = readFileSync(join(ROOT, 'examples/istio-httpbin.yaml'), 'utf8');
    const injected = run('meshdrain', ['inject'], example);
    // Only the note for the guessed app delay (ADR 015: the example policy names no shell), and the
    // unknown data-plane mode said once (ADR 061: the example has no Namespace that decides injection).
    expect(injected.stderr).toMatch(/^(meshdrain: <stdin>:\d+:\d+: Deployment\/\S+: app containers get Kubernetes' native sleep of 5s before SIGTERM, a guess[^\n]*\n)+meshdrain: \d+ workload\(s\) may or may not get an Istio sidecar [^\n]*\n$/);
    expect(injected.status).toBe(0);
    expect(parseAllDocuments(injected.stdout).length).toBe(parseAllDocuments(example).length);
    // The hold travels in the proxy.istio.io/overrides annotation (ADR 061), not an image: auto stub.
    expect(injected.stdout).toContain('proxy.istio.io/overrides:');
    expect(injected.stdout).not.toContain('image: auto');
    expect(run('meshdrain', ['inject', '-c', join(ROOT, 'examples/shutdown-policy.yaml')], example).status).toBe(0); // loads zod's chunk
    const lint = run('meshdrain', ['lint', '-f', 'sarif', '--kube-version', '1.30'], injected.stdout);
    expect(lint.status).toBe(0);
    expect(JSON.parse(lint.stdout).version).toBe('2.1.0');
    const hook = run('meshdrain', ['hook', '--format', 'exec-json']);
    expect(JSON.parse(hook.stdout)[0]).toBe('/bin/sh');
    const krm = run('meshdrain', ['inject'], readFileSync(join(ROOT, 'fixtures/krm/kpt-input.yaml'), 'utf8'));
    expect(krm.status).toBe(0);
    expect(krm.stdout).toMatch(/^results:/m);
    expect(run('meshdrain', ['lab', '--help']).status).toBe(0);
  });
});
