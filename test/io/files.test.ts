/** io/files: reading inputs (directories, size, binary) and atomic writes, on a real temporary directory. */
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandPaths, readText, writeAtomic } from '../../src/io/files.js';
import { MAX_INPUT_BYTES } from '../../src/yaml/load.js';
import { expectInputError } from '../helpers/errors.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshdrain-files-'));
  mkdirSync(join(dir, 'k8s/b'), { recursive: true });
  mkdirSync(join(dir, 'k8s/.git'), { recursive: true });
  for (const f of ['k8s/z.yaml', 'k8s/a.yml', 'k8s/b/c.json', 'k8s/b/d.YAML', 'k8s/notes.txt', 'k8s/.git/e.yaml']) writeFileSync(join(dir, f), 'kind: X\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('expandPaths', () => {
  it('directories (with -R): manifest extensions only, sorted, dot-directories skipped, paths as the user wrote them', () => {
    expect(expandPaths(['k8s'], dir, true)).toEqual(['k8s/a.yml', 'k8s/b/c.json', 'k8s/b/d.YAML', 'k8s/z.yaml']);
  });
  it('a Helm chart (a directory with Chart.yaml): its templates/ and charts/ are left out and reported, crds/ is read', () => {
    mkdirSync(join(dir, 'repo/chart/templates'), { recursive: true });
    mkdirSync(join(dir, 'repo/chart/charts/sub'), { recursive: true });
    mkdirSync(join(dir, 'repo/chart/crds'), { recursive: true });
    for (const f of ['repo/chart/Chart.yaml', 'repo/chart/templates/d.yaml', 'repo/chart/charts/sub/v.yaml', 'repo/chart/crds/c.yaml', 'repo/x.yaml']) writeFileSync(join(dir, f), 'kind: X\n');
    const skipped: string[] = [];
    expect(expandPaths(['repo'], dir, true, skipped)).toEqual(['repo/chart/Chart.yaml', 'repo/chart/crds/c.yaml', 'repo/x.yaml']);
    expect(skipped).toEqual(['repo/chart/charts', 'repo/chart/templates']);
    // Named explicitly, a template directory or file is read.
    expect(expandPaths(['repo/chart/templates'], dir, true)).toEqual(['repo/chart/templates/d.yaml']);
    expect(expandPaths(['repo/chart/templates/d.yaml'], dir, true)).toEqual(['repo/chart/templates/d.yaml']);
  });
  it.each(['kustomization.yaml', 'kustomization.yml', 'Kustomization'])('a kustomize overlay (%s): the patch files it lists are left out and reported; resources are read', (name) => {
    const o = `kz-${name}`;
    mkdirSync(join(dir, o, 'base'), { recursive: true });
    mkdirSync(join(dir, o, 'prod'), { recursive: true });
    for (const f of ['base/deploy.yaml', 'prod/patch.yaml', 'prod/smp.yaml', 'prod/json6902.yaml', 'prod/extra.yaml']) writeFileSync(join(dir, o, f), 'kind: X\n');
    writeFileSync(join(dir, o, 'base', name), 'resources: [deploy.yaml]\n');
    writeFileSync(
      join(dir, o, 'prod', name),
      'resources: [../base, extra.yaml]\npatches:\n- path: patch.yaml\n- patch: |-\n    kind: Deployment\npatchesStrategicMerge:\n- smp.yaml\n- |-\n  kind: Deployment\npatchesJson6902:\n- path: json6902.yaml\n  target: {kind: Deployment, name: x}\n',
    );
    const patches: string[] = [];
    const own = name === 'Kustomization' ? [] : [name];
    expect(expandPaths([o], dir, true, [], patches)).toEqual([`${o}/base/deploy.yaml`, ...own.map((n) => `${o}/base/${n}`), `${o}/prod/extra.yaml`, ...own.map((n) => `${o}/prod/${n}`)]);
    expect(patches).toEqual([`${o}/prod/json6902.yaml`, `${o}/prod/patch.yaml`, `${o}/prod/smp.yaml`]);
    // Named one by one, as pre-commit and editors pass files, a patch is left out the same (QA8 F2).
    const named: string[] = [];
    const files = [`${o}/base/deploy.yaml`, `${o}/prod/${name}`, `${o}/prod/patch.yaml`, `${o}/prod/smp.yaml`, `${o}/prod/extra.yaml`];
    expect(expandPaths(files, dir, false, [], named)).toEqual([`${o}/base/deploy.yaml`, `${o}/prod/${name}`, `${o}/prod/extra.yaml`]);
    expect(named).toEqual([`${o}/prod/patch.yaml`, `${o}/prod/smp.yaml`]);
    // A kustomization that does not parse lists nothing.
    writeFileSync(join(dir, o, 'prod', name), 'patches: [\n');
    expect(expandPaths([`${o}/prod`], dir, true)).toContain(`${o}/prod/patch.yaml`);
  });
  it('a kustomize patch in a subdirectory of its overlay, or beside it (../shared/), is left out too', () => {
    const o = 'kz-sub';
    for (const d of ['shared', 'prod/patches']) mkdirSync(join(dir, o, d), { recursive: true });
    for (const f of ['shared/s.yaml', 'prod/patches/p.yaml', 'prod/keep.yaml']) writeFileSync(join(dir, o, f), 'kind: X\n');
    writeFileSync(join(dir, o, 'prod', 'Kustomization'), 'resources: [keep.yaml]\npatches:\n- path: patches/p.yaml\n- path: ../shared/s.yaml\n');
    const patches: string[] = [];
    expect(expandPaths([o], dir, true, [], patches)).toEqual([`${o}/prod/keep.yaml`]);
    expect(patches.sort()).toEqual([`${o}/prod/patches/p.yaml`, `${o}/shared/s.yaml`]);
    // Named alone, the patch under its overlay is found through the kustomization above it; so is a
    // walk of the patches' own directory. The one beside the overlay only when the overlay is an input.
    for (const input of [`${o}/prod/patches/p.yaml`, `${o}/prod/patches`]) {
      const left: string[] = [];
      expect(expandPaths([input], dir, true, [], left)).toEqual([]);
      expect(left).toEqual([`${o}/prod/patches/p.yaml`]);
    }
    expect(expandPaths([`${o}/shared/s.yaml`], dir, false)).toEqual([`${o}/shared/s.yaml`]);
    expect(expandPaths([`${o}/shared/s.yaml`, `${o}/prod/Kustomization`], dir, false)).toEqual([`${o}/prod/Kustomization`]);
  });
  it('files as given (any extension), and - for stdin, in argument order', () => {
    expect(expandPaths(['k8s/notes.txt', '-', 'k8s/z.yaml'], dir, false)).toEqual(['k8s/notes.txt', '-', 'k8s/z.yaml']);
  });
  it('a file reached twice (named twice, under a named directory, through a symlink) is listed once, at its first place', () => {
    symlinkSync(join(dir, 'k8s/z.yaml'), join(dir, 'z-link.yaml'));
    expect(expandPaths(['k8s/z.yaml', 'k8s/z.yaml', './k8s/z.yaml', 'z-link.yaml'], dir, false)).toEqual(['k8s/z.yaml']);
    expect(expandPaths(['k8s/a.yml', 'k8s', '-'], dir, true)).toEqual(['k8s/a.yml', 'k8s/b/c.json', 'k8s/b/d.YAML', 'k8s/z.yaml', '-']);
  });
  it('a directory without -R, or a missing path: InputError naming the path', () => {
    expectInputError(() => expandPaths(['k8s'], dir, false), /^k8s: is a directory; pass -R to read the manifests under it$/);
    expectInputError(() => expandPaths(['nope.yaml'], dir, true), /^nope\.yaml: no such file or directory$/);
  });
});

describe('readText', () => {
  it('reads UTF-8 text', () => {
    writeFileSync(join(dir, 'u.yaml'), 'name: café\n');
    expect(readText('u.yaml', dir)).toBe('name: café\n');
  });
  it('refuses binary or non-UTF-8 input and a missing file with the path', () => {
    writeFileSync(join(dir, 'bin.yaml'), Buffer.from([0x6b, 0x00, 0x01, 0x02]));
    expectInputError(() => readText('bin.yaml', dir), /^bin\.yaml:1:2: not UTF-8 text \(binary data or another encoding\)$/);
    // Latin-1 is text, just not UTF-8: the message must not call it binary only.
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.from('name: caf\xe9\n', 'latin1'));
    expectInputError(() => readText('latin1.yaml', dir), /^latin1\.yaml:1:10: not UTF-8 text \(binary data or another encoding\)$/);
    expectInputError(() => readText('missing.yaml', dir), /^missing\.yaml: no such file or directory$/);
  });
  it('refuses a file over the size limit before reading it', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, '');
    // A sparse file: the size check must come from stat, not from reading 32 MiB.
    truncateSync(big, MAX_INPUT_BYTES + 1);
    expectInputError(() => readText('big.yaml', dir), /^big\.yaml: input is 32\.0 MiB; meshdrain reads manifests up to 32 MiB$/);
  });
  it.skipIf(process.getuid?.() === 0)('an unreadable file: "permission denied", not an errno code', () => {
    const f = join(dir, 'locked.yaml');
    writeFileSync(f, 'a: 1\n');
    chmodSync(f, 0o000);
    expectInputError(() => readText('locked.yaml', dir), /^locked\.yaml: cannot read: permission denied$/);
  });
});

describe('writeAtomic', () => {
  it('replaces the content, keeps the mode, leaves no temp file', () => {
    const f = join(dir, 'w.yaml');
    writeFileSync(f, 'old\n');
    chmodSync(f, 0o640);
    writeAtomic('w.yaml', 'new\n', dir);
    expect(readFileSync(f, 'utf8')).toBe('new\n');
    expect(statSync(f).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).filter((n) => n.includes('.meshdrain-'))).toEqual([]);
  });
  it('creates a new file with 0644', () => {
    writeAtomic('fresh.yaml', 'x: 1\n', dir);
    expect(readFileSync(join(dir, 'fresh.yaml'), 'utf8')).toBe('x: 1\n');
    expect(statSync(join(dir, 'fresh.yaml')).mode & 0o777).toBe(0o644);
  });
  it('through a symlink: the target is edited, the link stays a link', () => {
    writeFileSync(join(dir, 'target.yaml'), 'a\n');
    symlinkSync(join(dir, 'target.yaml'), join(dir, 'link.yaml'));
    writeAtomic('link.yaml', 'b\n', dir);
    expect(lstatSync(join(dir, 'link.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'target.yaml'), 'utf8')).toBe('b\n');
  });
  it('a failed write leaves the original and no temp file, and names the path', () => {
    expectInputError(() => writeAtomic('no/such/dir/x.yaml', 'y\n', dir), /^no\/such\/dir\/x\.yaml: cannot write: no such file or directory$/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });
  it('under a file (ENOTDIR): the same one line, not the temp file clean-up\'s own error', () => {
    writeFileSync(join(dir, 'afile'), 'keep\n');
    expectInputError(() => writeAtomic('afile/out.yaml', 'y\n', dir), /^afile\/out\.yaml: cannot write: a parent is not a directory$/);
    expect(readFileSync(join(dir, 'afile'), 'utf8')).toBe('keep\n');
  });
});
