/** meshdrain as a kustomize transformer, run by the real kustomize inside kubectl. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../helpers/cli.js';
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
});
