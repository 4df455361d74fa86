/** meshdrain as a kustomize transformer, run by the real kustomize inside kubectl. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { BIN, ROOT } from '../helpers/cli.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasKubectl)('kustomize', () => {
  it('runs examples/kustomize: the ShutdownPolicy is the transformer config', () => {
    const shim = mkdtempSync(join(tmpdir(), 'meshdrain-path-'));
    try {
      writeFileSync(join(shim, 'meshdrain'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
      chmodSync(join(shim, 'meshdrain'), 0o755);
      const dir = `${ROOT}examples/kustomize`;
      const r = spawnSync('kubectl', ['kustomize', '--enable-alpha-plugins', dir], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${shim}:${process.env.PATH}`, KUSTOMIZE_PLUGIN_HOME: `${dir}/plugins` },
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const [deploy] = parseAllDocuments(r.stdout).map((d) => d.toJS());
      const containers = deploy.spec.template.spec.containers;
      expect(containers.find((c: { name: string }) => c.name === 'web').lifecycle.preStop).toEqual({ sleep: { seconds: 5 } });
      expect(containers.find((c: { name: string }) => c.name === 'istio-proxy').lifecycle.preStop.exec.command[0]).toBe('/bin/sh');
    } finally {
      rmSync(shim, { recursive: true, force: true });
    }
  });
});
