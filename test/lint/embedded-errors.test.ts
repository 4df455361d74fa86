/** YAML inside strings (the proxy.istio.io/config annotation, the mesh ConfigMap's data.mesh): a user's mistake is exit 2 at its place, never 3. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { injectText } from '../../src/inject/inject.js';
import { expectInputError } from '../helpers/errors.js';
import { lintCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'meshdrain-embedded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const POD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    proxy.istio.io/config: "*x"\nspec:\n  containers: [{name: app, image: a}]\n';

describe('embedded YAML errors', () => {
  it('lint: an alias with no anchor in proxy.istio.io/config is exit 2 at the annotation (was 3)', async () => {
    const r = await lintCli([write('pod.yaml', POD)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pod\.yaml:6:28: proxy\.istio\.io\/config: not valid YAML\/JSON: unknown YAML alias \*x/);
  });

  it('lint: a broken data.mesh in the mesh ConfigMap is exit 2 at the alias (was 3)', async () => {
    const mesh = write('mesh.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\ndata:\n  mesh: |\n    defaultConfig:\n      terminationDrainDuration: *nope\n');
    const pod = write('plain.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: app, image: a}]\n');
    const r = await lintCli([pod, '--mesh-config', mesh]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mesh\.yaml:7:33: ConfigMap istio data\.mesh: unknown YAML alias \*nope/);
  });

  it('inject reads the annotation through the same guard', () => {
    expectInputError(() => injectText(POD, 'pod.yaml'), /^pod\.yaml:6:\d+: annotation proxy\.istio\.io\/config: invalid YAML: unknown YAML alias \*x/);
  });
});
