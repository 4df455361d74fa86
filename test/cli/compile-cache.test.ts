/** The bin starts the bundle through V8's code cache (src/cli/start.ts); the cache never changes what runs. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../helpers/cli.js';
import { unexpectedStderr } from '../helpers/inject-notes.js';

const dir = mkdtempSync(join(tmpdir(), 'meshdrain-v8cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const example = readFileSync(`${ROOT}examples/istio-httpbin.yaml`, 'utf8');
const run = (env: Record<string, string>, args = ['inject']) =>
  spawnSync(process.execPath, [BIN, ...args], { input: example, encoding: 'utf8', env: { ...process.env, MESHDRAIN_NO_COMPILE_CACHE: '', ...env } });
const cached = (home: string) => readdirSync(join(home, 'meshdrain'));

describe('V8 code cache', () => {
  it('the first run writes one cache per command; later runs give the same output', () => {
    const home = join(dir, 'a');
    const first = run({ XDG_CACHE_HOME: home });
    expect(first.status).toBe(0);
    expect(cached(home)).toEqual([expect.stringMatching(/^[0-9a-f]{16}-inject\.v8cache$/)]);
    const second = run({ XDG_CACHE_HOME: home });
    expect([second.status, second.stdout, second.stderr]).toEqual([0, first.stdout, first.stderr]);
    expect(run({ XDG_CACHE_HOME: home }, ['--version']).status).toBe(0);
    expect(cached(home).sort()).toEqual([expect.stringMatching(/-inject\.v8cache$/), expect.stringMatching(/-main\.v8cache$/)]);
  });

  it('a corrupt cache is rejected by V8 and rewritten; the run is unaffected', () => {
    const home = join(dir, 'b');
    const good = run({ XDG_CACHE_HOME: home });
    const file = join(home, 'meshdrain', cached(home)[0]!);
    writeFileSync(file, Buffer.alloc(4096, 7));
    const again = run({ XDG_CACHE_HOME: home });
    expect([again.status, again.stdout]).toEqual([0, good.stdout]);
    expect(readFileSync(file).equals(Buffer.alloc(4096, 7))).toBe(false);
  });

  it('no cache when turned off or when the cache directory cannot be written', () => {
    const home = join(dir, 'c');
    expect(run({ XDG_CACHE_HOME: home, MESHDRAIN_NO_COMPILE_CACHE: '1' }).status).toBe(0);
    expect(() => cached(home)).toThrow();
    const ro = run({ XDG_CACHE_HOME: '/proc/meshdrain-cannot-write' });
    // nothing about the cache: stderr holds only inject's note on the guessed app delay (ADR 015)
    expect([ro.status, unexpectedStderr(ro.stderr)]).toEqual([0, []]);
  });
});

describe('V8 code cache: what an upgrade leaves behind', () => {
  it("a week-old cache of another bundle and a killed run's temp file are removed when a cache is written; fresh ones and this bundle's stay", () => {
    const home = join(dir, 'd');
    expect(run({ XDG_CACHE_HOME: home }).status).toBe(0);
    const cacheDir = join(home, 'meshdrain');
    const [own] = cached(home);
    const old = (name: string, days: number) => {
      const f = join(cacheDir, name);
      writeFileSync(f, 'x');
      const t = new Date(Date.now() - days * 24 * 3600 * 1000);
      utimesSync(f, t, t);
    };
    old('0123456789abcdef-inject.v8cache', 8); // another bundle, not written for 8 days: removed
    old('fedcba9876543210-inject.v8cache', 2); // another bundle, recent: another install still uses it
    old(`${own!.split('-')[0]}-lint.v8cache.999.tmp`, 1); // a killed run's temp file
    old('notes.txt', 30); // not meshdrain's cache: left alone
    utimesSync(join(cacheDir, own!), new Date(0), new Date(0)); // this bundle's own, however old: kept
    expect(run({ XDG_CACHE_HOME: home }, ['--version']).status).toBe(0); // a new command: writes its cache
    expect(cached(home).sort()).toEqual([own!, 'fedcba9876543210-inject.v8cache', `${own!.split('-')[0]}-main.v8cache`, 'notes.txt'].sort());
  });
  it('beyond the 7 most recently written other bundles, older ones go even within the week', () => {
    const home = join(dir, 'e');
    expect(run({ XDG_CACHE_HOME: home }).status).toBe(0);
    const cacheDir = join(home, 'meshdrain');
    const [own] = cached(home);
    // Ten other bundles written 1..10 hours ago, two commands each.
    for (let h = 1; h <= 10; h++) {
      for (const cmd of ['inject', 'lint']) {
        const f = join(cacheDir, `${String(h).padStart(16, '0')}-${cmd}.v8cache`);
        writeFileSync(f, 'x');
        const t = new Date(Date.now() - h * 3600 * 1000);
        utimesSync(f, t, t);
      }
    }
    expect(run({ XDG_CACHE_HOME: home }, ['--version']).status).toBe(0); // writes its cache: prunes
    const others = cached(home).filter((n) => !n.startsWith(own!.split('-')[0]!));
    expect(new Set(others.map((n) => n.split('-')[0]))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7].map((h) => String(h).padStart(16, '0'))));
    expect(others).toHaveLength(14);
  });
});
