/**
 * The front door on a machine without the tools the suite runs (iptables, shellcheck, busybox, siege…):
 * `npm test` stops at once with one line naming what to install; MESHDRAIN_SKIP_MISSING_TOOLS=1 runs
 * the suite with those tests reported skipped; under MESHDRAIN_REQUIRE_ROOT_TESTS=1 a missing tool fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { toolMissing } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'meshdrain-front-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tools = join(dir, 'tools');
writeFileSync(tools, '# as .ci/tools\nsh dash\nmeshdrain-no-such-shellcheck shellcheck\nmeshdrain-no-such-kubectl - https://dl.example/kubectl\nmeshdrain-no-such-kpt - https://kpt.example/install\n');
const preflight = (env: Record<string, string>) =>
  spawnSync(process.execPath, [`${ROOT}scripts/test-preflight.mjs`], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MESHDRAIN_REQUIRE_ROOT_TESTS: '', MESHDRAIN_SKIP_MISSING_TOOLS: '', MESHDRAIN_TOOLS_FILE: tools, ...env } });

describe('npm test preflight', () => {
  it('missing tools: exit 1 at once, one line naming them and how to install', () => {
    const r = preflight({});
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /missing meshdrain-no-such-shellcheck, meshdrain-no-such-kubectl, meshdrain-no-such-kpt; install: sudo bash \.ci\/run .*; meshdrain-no-such-kubectl from https:\/\/dl\.example\/kubectl; meshdrain-no-such-kpt from https:\/\/kpt\.example\/install /,
    );
    expect(r.stderr).toMatch(/MESHDRAIN_SKIP_MISSING_TOOLS=1 npm test/);
  });

  it('MESHDRAIN_SKIP_MISSING_TOOLS=1 goes on; MESHDRAIN_REQUIRE_ROOT_TESTS=1 refuses', () => {
    expect(preflight({ MESHDRAIN_SKIP_MISSING_TOOLS: '1' }).status).toBe(0);
    const ci = preflight({ MESHDRAIN_REQUIRE_ROOT_TESTS: '1', MESHDRAIN_SKIP_MISSING_TOOLS: '1' });
    expect(ci.status).toBe(1);
    expect(ci.stderr).toMatch(/forbids skipping/);
  });

  it('nothing missing: silent, exit 0', () => {
    writeFileSync(join(dir, 'present'), 'sh dash\n');
    const r = preflight({ MESHDRAIN_TOOLS_FILE: join(dir, 'present') });
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  it('the test helper names what a skipped test needs', () => {
    expect(toolMissing('sh')).toBeUndefined();
    expect(toolMissing('sh', 'meshdrain-no-such-tool')).toBe('needs meshdrain-no-such-tool (missing here; sudo bash .ci/run installs it)');
    // A tool Debian lacks: where it comes from, not .ci/run.
    const saved = process.env.MESHDRAIN_TOOLS_FILE;
    process.env.MESHDRAIN_TOOLS_FILE = tools;
    try {
      expect(toolMissing('meshdrain-no-such-kpt')).toBe('needs meshdrain-no-such-kpt (missing here; meshdrain-no-such-kpt from https://kpt.example/install)');
      expect(toolMissing('meshdrain-no-such-shellcheck', 'meshdrain-no-such-kubectl')).toBe(
        'needs meshdrain-no-such-shellcheck, meshdrain-no-such-kubectl (missing here; sudo bash .ci/run installs it; meshdrain-no-such-kubectl from https://dl.example/kubectl)',
      );
    } finally {
      if (saved === undefined) delete process.env.MESHDRAIN_TOOLS_FILE;
      else process.env.MESHDRAIN_TOOLS_FILE = saved;
    }
  });
});

describe('README, .ci/run and .ci/tools agree', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const ciRun = readFileSync(`${ROOT}.ci/run`, 'utf8');
  const listed = readFileSync(`${ROOT}.ci/tools`, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.split(/\s+/)[0]!);

  it('the README test command is what .ci/run runs, and npm test runs the preflight first', () => {
    const command = /Run the tests[^\n]*\n\n {4}([^\n]+)/.exec(readme)?.[1];
    expect(command).toBe('npm test');
    expect(ciRun.trimEnd().split('\n').at(-1)).toBe(command);
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.pretest).toMatch(/^node scripts\/test-preflight\.mjs && /);
    expect(ciRun).toContain('<.ci/tools');
  });

  it('the README names every tool in .ci/tools, says sudo bash .ci/run installs them, and where the others come from', () => {
    for (const tool of listed) expect(readme).toContain(`\`${tool}\``);
    expect(readme).toContain('sudo bash .ci/run');
    const elsewhere = readFileSync(`${ROOT}.ci/tools`, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === '-');
    expect(elsewhere.map((f) => f[0])).toEqual(['kubectl', 'kpt']);
    for (const [, , from] of elsewhere) expect(readme).toContain(from);
  });

  it('.ci/run stops at once naming a tool Debian lacks and where to get it', () => {
    // .ci/run with a tools list of one missing non-Debian tool: it must stop before apt-get or npm.
    const copy = join(dir, 'ci');
    mkdirSync(join(copy, '.ci'), { recursive: true });
    writeFileSync(join(copy, '.ci/run'), ciRun);
    writeFileSync(join(copy, '.ci/tools'), 'sh dash\nmeshdrain-no-such-kpt - https://kpt.example/install\n');
    const r = spawnSync('bash', [join(copy, '.ci/run')], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([1, 'ci: the tests need meshdrain-no-such-kpt; install it from https://kpt.example/install\n']);
  });
});
