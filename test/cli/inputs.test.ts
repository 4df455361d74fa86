/** inject and lint read manifests the same way: empty inputs are errors, a terminal on stdin is refused. */
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

const noManifests = (r: { code: number; stdout: string; stderr: string }, where: string) => {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`meshdrain: no manifests found in ${where}${where === '<stdin>' ? '' : ' (directories are searched for .yaml, .yml, .json files)'}\n`);
};

describe.each([
  ['inject', ['inject', '--check', '-R']],
  ['inject', ['inject', '-R']],
  ['lint', ['lint']],
])('%s: zero documents in all inputs', (_name, argv) => {
  it('an empty directory (or one without manifests) is exit 2, naming it', () => {
    noManifests(cli([...argv, join(dir, 'empty')]), join(dir, 'empty'));
    noManifests(cli([...argv, join(dir, 'notes'), join(dir, 'empty')]), `${join(dir, 'notes')}, ${join(dir, 'empty')}`);
  });
  it('empty stdin, or only comments and bare ---, is exit 2', () => {
    noManifests(cli(argv.filter((a) => a !== '-R'), { input: '' }), '<stdin>');
    noManifests(cli(argv.filter((a) => a !== '-R'), { input: '# just a comment\n---\n---\n' }), '<stdin>');
    noManifests(cli([...argv, join(dir, 'comments.yaml')]), join(dir, 'comments.yaml'));
  });
  it('a stream of only ConfigMaps and CRDs is not empty: exit 0', () => {
    const r = cli(argv.filter((a) => a !== '-R'), { input: `${CONFIGMAP}---\n${CRD}` });
    expect(r.stderr).not.toMatch(/no manifests/);
    expect(r.code).toBe(0);
    if (argv[0] === 'inject' && !argv.includes('--check')) expect(r.stdout).toBe(`${CONFIGMAP}---\n${CRD}`);
  });
  it('one empty file beside a real one is fine', () => {
    const f = join(dir, 'cm.yaml');
    writeFileSync(f, CONFIGMAP);
    expect(cli([...argv, f, join(dir, 'comments.yaml')]).code).toBe(0);
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
