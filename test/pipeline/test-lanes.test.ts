/**
 * `npm test` runs two vitest runs at once (scripts/test-lanes.mjs, ADR 002): the project lab-netns
 * (one file at a time) and the project rest. The script, the config and the files must agree, or a
 * file runs twice, never, or beside another lab file.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import config from '../../vitest.config.js';
import { ROOT } from '../helpers/cli.js';

interface Project {
  test: { name: string; include: string[]; exclude?: string[] };
}
const projects = (config.test?.projects ?? []) as Project[];
const script = readFileSync(`${ROOT}scripts/test-lanes.mjs`, 'utf8');

describe('npm test lanes', () => {
  it('runs exactly the config projects, the lab one without file parallelism', () => {
    expect(projects.map((p) => p.test.name)).toEqual(['lab-netns', 'rest']);
    expect([...script.matchAll(/'--project', '([\w-]+)'/g)].map((m) => m[1])).toEqual(['lab-netns', 'rest']);
    expect(script).toMatch(/'--project', 'lab-netns', '--no-file-parallelism'/);
    expect(JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).scripts.test).toBe('node scripts/test-lanes.mjs');
  });

  it('rest excludes exactly what lab-netns includes, and that is every lab netns file', () => {
    const [lab, rest] = projects;
    expect(lab!.test.include).toEqual(['test/lab/*-netns.test.ts', 'test/hooks/*-netns.test.ts']);
    for (const glob of lab!.test.include) expect(rest!.test.exclude).toContain(glob);
    const netnsFiles = readdirSync(`${ROOT}test/lab`).filter((f) => f.endsWith('-netns.test.ts'));
    expect(netnsFiles).toEqual(expect.arrayContaining(['lab-netns.test.ts', 'manifest-netns.test.ts']));
  });

  it('with arguments it is one vitest run and passes its exit status on', () => {
    const r = spawnSync(process.execPath, [`${ROOT}scripts/test-lanes.mjs`, 'test/no-such-file-for-lanes'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/No test files found/);
    expect(r.stderr).not.toMatch(/npm test: lane/);
  });
});
