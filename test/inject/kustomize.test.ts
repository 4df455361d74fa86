/** meshdrain as a kustomize transformer, run by the real kustomize inside kubectl. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { BIN, ROOT } from '../helpers/cli.js';
import { needTools } from '../helpers/tools.js';

describe('kustomize', () => {
  needTools('kubectl');
  it('runs examples/kustomize from a checkout, with no meshdrain on PATH (the plugin finds the build)', () => {
    const dir = `${ROOT}examples/kustomize`;
    const path = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
    expect(spawnSync('sh', ['-c', 'command -v meshdrain'], { env: { PATH: path } }).status).not.toBe(0);
    const r = spawnSync('kubectl', ['kustomize', '--enable-alpha-plugins', dir], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${path}:${dirname(spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim())}`, KUSTOMIZE_PLUGIN_HOME: `${dir}/plugins` },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [deploy] = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const containers = deploy.spec.template.spec.containers;
    expect(containers.find((c: { name: string }) => c.name === 'web').lifecycle.preStop).toEqual({ sleep: { seconds: 5 } });
    // The hold travels in the proxy.istio.io/overrides annotation (ADR 061): no image: auto stub.
    expect(containers.map((c: { name: string }) => c.name)).not.toContain('istio-proxy');
    const overrides = JSON.parse(deploy.spec.template.metadata.annotations['proxy.istio.io/overrides']);
    expect(overrides.containers.find((c: { name: string }) => c.name === 'istio-proxy').lifecycle.preStop.exec.command[0]).toBe('/bin/sh');
  });

  it("a mistake in the policy names the ShutdownPolicy, not kustomize's deleted temp copy of it", () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshdrain-kz-'));
    try {
      cpSync(`${ROOT}examples/kustomize`, dir, { recursive: true });
      const policy = join(dir, 'shutdown-policy.yaml');
      writeFileSync(policy, readFileSync(policy, 'utf8').replace('delay: 5s', 'delay: 5 secs'));
      const r = spawnSync('kubectl', ['kustomize', '--enable-alpha-plugins', dir], { encoding: 'utf8', env: { ...process.env, KUSTOMIZE_PLUGIN_HOME: `${ROOT}examples/kustomize/plugins` } });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/^\s*meshdrain: ShutdownPolicy\/meshdrain \(kustomize's copy\): invalid ShutdownPolicy: defaults\.app\.delay: .*$/m);
      expect(r.stderr).not.toMatch(/meshdrain: \/tmp\/kust-plugin-config-/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // -R on the tree, or every file named as pre-commit passes them (QA8 F2: a named patch was edited).
  it.each([
    ['-R', ['-R', '.']],
    ['named files', ['base/deploy.yaml', 'base/kustomization.yaml', 'overlays/prod/kustomization.yaml', 'overlays/prod/patch.yaml']],
  ])("inject -i (%s) on a base/overlay tree leaves the overlay's patch alone: the rendered pod keeps one preStop handler and its grace period", (_how, args) => {
    const dir = mkdtempSync(join(tmpdir(), 'meshdrain-kzo-'));
    try {
      const files: Record<string, string> = {
        'base/kustomization.yaml': 'resources: [deploy.yaml]\n',
        'base/deploy.yaml':
          'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      terminationGracePeriodSeconds: 90\n      containers:\n      - name: web\n        image: nginx\n        lifecycle:\n          preStop:\n            exec:\n              command: [sh, -c, sleep 20]\n',
        'overlays/prod/kustomization.yaml': 'resources: [../../base]\npatches:\n- path: patch.yaml\n',
        'overlays/prod/patch.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        resources:\n          limits: {memory: 512Mi}\n',
      };
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        writeFileSync(join(dir, f), text);
      }
      const r = spawnSync(process.execPath, [BIN, 'inject', '-i', ...args], { encoding: 'utf8', cwd: dir });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/skipped kustomize patches .*overlays\/prod\/patch\.yaml/);
      expect(readFileSync(join(dir, 'overlays/prod/patch.yaml'), 'utf8')).toBe(files['overlays/prod/patch.yaml']);
      const k = spawnSync('kubectl', ['kustomize', join(dir, 'overlays/prod')], { encoding: 'utf8' });
      expect(k.status, k.stderr).toBe(0);
      const spec = parseAllDocuments(k.stdout)[0]!.toJS().spec.template.spec;
      expect(Object.keys(spec.containers[0].lifecycle.preStop)).toEqual(['exec']);
      expect(spec.terminationGracePeriodSeconds).toBe(90);
      // The CI gate on the tree, after the edit, finds nothing to change.
      expect(spawnSync(process.execPath, [BIN, 'inject', '--check', ...args], { encoding: 'utf8', cwd: dir }).status).toBe(0);
      // Only the patch named: said once, nothing else to say (not "no manifests in " with no name).
      const only = spawnSync(process.execPath, [BIN, 'inject', '--check', 'overlays/prod/patch.yaml'], { encoding: 'utf8', cwd: dir });
      expect(only.status).toBe(0);
      expect(only.stderr).toMatch(/^meshdrain: skipped kustomize patches overlays\/prod\/patch\.yaml /);
      expect(only.stderr).not.toMatch(/no manifests in/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // ADR 083 addendum (session 9): pre-commit names a patch that sits beside its overlay, with no
  // kustomization above it or among the inputs that lists it. Its content says it is a patch: a container
  // with no image, which the API server rejects in any Deployment.
  it('a patch beside its overlay named alone (pre-commit): inject and lint leave it alone; the rendered pod keeps one preStop handler and its grace period', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshdrain-kzs-'));
    try {
      const patch = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        resources:\n          limits: {memory: 512Mi}\n';
      const files: Record<string, string> = {
        'base/kustomization.yaml': 'resources: [deploy.yaml]\n',
        'base/deploy.yaml':
          'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: web}\n      annotations: {sidecar.istio.io/inject: "true"}\n    spec:\n      terminationGracePeriodSeconds: 90\n      containers:\n      - name: web\n        image: nginx\n        lifecycle:\n          preStop:\n            exec:\n              command: [sh, -c, sleep 20]\n',
        'overlays/prod/kustomization.yaml': 'resources: [../../base]\npatches:\n- path: ../shared/p.yaml\n',
        'overlays/shared/p.yaml': patch,
      };
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        writeFileSync(join(dir, f), text);
      }
      const note = /^meshdrain: overlays\/shared\/p\.yaml:9:9: Deployment\/web: container web has no image: a patch fragment \(a kustomize patch merges it into a base\), not an object the API server accepts: left unchanged and not judged/m;
      const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir });
      const check = run('inject', '--check', 'overlays/shared/p.yaml');
      expect(check.status, check.stderr).toBe(0);
      expect(check.stderr).toMatch(note);
      const i = run('inject', '-i', 'overlays/shared/p.yaml');
      expect(i.status, i.stderr).toBe(0);
      expect(i.stderr).toMatch(note);
      expect(readFileSync(join(dir, 'overlays/shared/p.yaml'), 'utf8')).toBe(patch);
      const lint = run('lint', '-f', 'json', '--fail-on', 'info', 'overlays/shared/p.yaml');
      expect(lint.status, lint.stderr).toBe(0);
      expect(JSON.parse(lint.stdout).findings).toEqual([]);
      expect(lint.stderr).toMatch(note);
      expect(lint.stderr).not.toMatch(/no pod templates found/);
      // kustomize's load restrictor keeps a patch inside the overlay's root unless told otherwise.
      const k = spawnSync('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', join(dir, 'overlays/prod')], { encoding: 'utf8' });
      expect(k.status, k.stderr).toBe(0);
      const spec = parseAllDocuments(k.stdout)[0]!.toJS().spec.template.spec;
      expect(Object.keys(spec.containers[0].lifecycle.preStop)).toEqual(['exec']);
      expect(spec.terminationGracePeriodSeconds).toBe(90);
      expect(spec.containers[0].resources.limits.memory).toBe('512Mi');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
