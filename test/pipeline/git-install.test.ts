/**
 * The install pre-commit does for a `language: node` hook (pre-commit 4, languages/node.py):
 * `npm install --allow-git=root --install-links -g git+file://<hook repo>`. npm prepares a git
 * dependency by installing its dev dependencies and running `prepare`, but inherits
 * npm_config_global=true there, so nothing was installed and the build failed with "tsc: not found"
 * (npm/cli#8440; QA8 F1): no hook ran. scripts/prepare.mjs installs them itself in that case.
 * This runs the real npm on a clone of this checkout's HEAD (committed work only), dev dependencies
 * from npm's cache or the registry.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runAsync } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'meshdrain-git-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('global install from git, as pre-commit installs a node hook', () => {
  it('installs, builds and runs meshdrain from a git clone', async () => {
    const repo = join(dir, 'repo');
    const clone = spawnSync('git', ['clone', '-q', ROOT, repo], { encoding: 'utf8' });
    expect(clone.status, clone.stderr).toBe(0);
    const prefix = join(dir, 'global');
    const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
    const r = await runAsync('npm', ['install', '--allow-git=root', '--install-links', '-g', '--prefix', prefix, `git+file://${repo}`], { cwd: dir, env });
    expect(r.status, r.stderr.split('\n').filter((l) => !l.includes('TAR_ENTRY')).slice(-15).join('\n')).toBe(0);
    const bin = join(prefix, 'bin', 'meshdrain');
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    expect(spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(version);
    // The hooks' entries: inject --check finds the README's problem manifest unsafe (exit 1).
    const check = spawnSync(bin, ['inject', '--check', join(ROOT, 'examples/istio-httpbin.yaml')], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(1);
  }, 300_000);
});
