/** What --help and the docs say matches what the CLI does (QA found each of these out of step). */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { programNameOf } from '../../src/cli/context.js';
import { DEFAULT_HOLD_LINGER_MS, DEFAULT_WAIT_FOR } from '../../src/constants.js';
import { INJECTOR_ANNOTATIONS } from '../../src/istio/facts.js';
import { ruleDocUri } from '../../src/lint/docs.js';
import { BIN, ROOT } from '../helpers/cli.js';

async function help(argv: string[], programName?: string): Promise<string> {
  let out = '';
  await run([...argv, '--help'], { stdout: (t) => void (out += t), stderr: (t) => void (out += t), readStdin: async () => '', cwd: ROOT, isStdinTTY: false, env: {}, programName });
  return out;
}

describe('--help', () => {
  it.each([['hook'], ['image'], ['istio', 'injector-patch'], ['istio', 'template']])('%s %s: --wait-for lists every default strategy', async (...cmd) => {
    const text = (await help(cmd.filter(Boolean))).replace(/\n\s+/g, ' ');
    const line = /--wait-for <strategy>.*?\(default/.exec(text)?.[0] ?? '';
    expect(line).not.toBe('');
    for (const s of DEFAULT_WAIT_FOR) expect(line).toContain(`${s} |`);
  });

  it('lint: rule pages are where the SARIF helpUri points (docs/ is not in the package)', async () => {
    const text = await help(['lint']);
    expect(text).toContain(ruleDocUri('<id>'));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    if (!pkg.files.some((f) => f.startsWith('docs'))) expect(text).not.toMatch(/docs\/rules\/<id>\.md/);
  });

  it.each([[[]], [['istio']]])('%j: examples a new user can copy, each a real command', async (cmd) => {
    const text = await help(cmd);
    const examples = text.slice(text.indexOf('Examples:'));
    expect(text).toContain('Examples:');
    // Every example line names a command that exists, with options its --help lists.
    const lines = examples.split('\n').filter((l) => /^\s+(sudo )?meshdrain /.test(l) || /\| meshdrain /.test(l));
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) {
      const args = l.replace(/^.*?meshdrain /, '').replace(/#.*$/, '').trim().split(/\s+/);
      const sub = args[0] === 'istio' ? args.slice(0, 2) : args.slice(0, 1);
      const subHelp = await help(sub);
      expect(subHelp, l).toMatch(new RegExp(`^Usage: meshdrain ${sub.join(' ')} `));
      for (const flag of args.filter((a) => a.startsWith('--'))) expect(subHelp, `${l}: ${flag}`).toContain(flag);
    }
  });

  it('an unknown option is one line: the suggestion stays on it', async () => {
    let err = '';
    const code = await run(['inject', '--chekc', 'x.yaml'], { stdout: () => {}, stderr: (t) => void (err += t), readStdin: async () => '', cwd: ROOT, isStdinTTY: false, env: {} });
    expect(code).toBe(2);
    expect(err).toBe("meshdrain: unknown option '--chekc' (Did you mean --check?) (see --help)\n");
  });

  it('the usage line names the program as invoked: kubectl meshdrain as a kubectl plugin', async () => {
    expect(programNameOf('/usr/local/bin/kubectl-meshdrain')).toBe('kubectl meshdrain');
    expect(programNameOf('/usr/lib/node_modules/meshdrain/dist/cli/main.js')).toBe('meshdrain');
    expect(programNameOf('/usr/local/bin/meshdrain')).toBe('meshdrain');
    expect(await help(['inject'], 'kubectl meshdrain')).toMatch(/^Usage: kubectl meshdrain inject /);
    // The built bin through a symlink named as kubectl finds plugins.
    const d = mkdtempSync(join(tmpdir(), 'meshdrain-plugin-'));
    try {
      symlinkSync(BIN, join(d, 'kubectl-meshdrain'));
      const r = spawnSync(process.execPath, [join(d, 'kubectl-meshdrain'), '--help'], { encoding: 'utf8' });
      expect(r.stdout).toMatch(/^Usage: kubectl meshdrain \[options\] \[command\]/);
      expect(spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' }).stdout).toMatch(/^Usage: meshdrain \[options\] \[command\]/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('docs agree with the code', () => {
  const inject = readFileSync(join(ROOT, 'docs/inject.md'), 'utf8');
  const first = inject.slice(inject.indexOf('1. **istio-proxy preStop**'), inject.indexOf('2. **App preStop**'));

  it('docs/inject.md §1: the linger is DEFAULT_HOLD_LINGER_MS, the default carrier the overrides annotation', () => {
    const m = /release after (\d+) ?(ms|s) with nothing held/.exec(first);
    expect(m).not.toBeNull();
    expect(Number(m![1]) * (m![2] === 's' ? 1000 : 1)).toBe(DEFAULT_HOLD_LINGER_MS);
    expect(first.replace(/\s+/g, ' ')).toContain(`Carried by default in the \`${INJECTOR_ANNOTATIONS.overrides}\` annotation`);
  });

  it('the README synopsis of inject lists every --via choice', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const synopsis = /meshdrain inject \[PATH\.\.\.\][^\n]*--via ([a-z|]+)\]/.exec(readme)?.[1];
    const choices = /--via <how>[\s\S]*?\(choices:\s*([^)]*)\)/.exec(await help(['inject']))?.[1]?.match(/"([a-z]+)"/g)?.map((c) => c.slice(1, -1));
    expect(choices?.length).toBeGreaterThan(1);
    expect(synopsis?.split('|')).toEqual(choices);
  });
});
