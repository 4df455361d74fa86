#!/usr/bin/env node
/**
 * `meshdrain`: starts the CLI bundle (dist/cli/meshdrain.cjs) through V8's code cache. Node 20 has no
 * module.enableCompileCache, so this does by hand what v8-compile-cache does for require(): compile
 * the bundle as a vm.Script with the cached data from an earlier run, and save fresh data when there
 * was none or V8 rejected it (another Node, another bundle). About 70 ms of CPU less per run
 * (ADR 081). The cache lives under $XDG_CACHE_HOME/meshdrain (~/.cache/meshdrain); when it cannot be
 * read or written the bundle simply compiles as usual. MESHDRAIN_NO_COMPILE_CACHE=1 turns it off.
 * Built unbundled next to the bundle (scripts/build.mjs); it imports only node: built-ins.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bundle = fileURLToPath(new URL('./meshdrain.cjs', import.meta.url));
const source = readFileSync(bundle, 'utf8').replace(/^#!.*/, '');

/**
 * FNV-1a, 64 bits, as 16 hex digits: names the cache file, nothing more (V8 checks the data itself).
 * Not node:crypto: loading it cost ~30 ms of every start (measured with --cpu-prof).
 */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

function cacheFile(): string | undefined {
  if (process.env.MESHDRAIN_NO_COMPILE_CACHE === '1') return undefined;
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME || homedir() ? join(process.env.HOME || homedir(), '.cache') : '');
  if (!base) return undefined;
  // V8 checks the source length and its own version/flags; the key adds which bundle this is. One
  // cache per command: the data holds the functions the run compiled, and each command runs others.
  const st = statSync(bundle);
  const key = fnv1a64(`${bundle}\0${st.size}\0${st.mtimeMs}\0${process.version}`);
  const word = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? '';
  return join(base, 'meshdrain', `${key}-${/^[a-z]{1,16}$/.test(word) ? word : 'main'}.v8cache`);
}

/** Caches of another bundle or Node (an upgrade leaves them behind) older than this are removed. */
const STALE_MS = 7 * 24 * 3600 * 1000;
/** A temp file a killed run left (writes take milliseconds). */
const ORPHAN_MS = 3600 * 1000;
/**
 * Other bundles whose caches stay however recent: installs in use side by side (npx in several
 * projects). Beyond them the least recently written go: rebuilds (a developer's, CI's) each name a new
 * bundle, and a week of them filled ~/.cache/meshdrain with 177 MB (a QA pass, ADR 081).
 */
const KEEP_OTHER_BUNDLES = 7;

/**
 * Remove what no run will read again: other bundles' caches not written for a week or beyond the
 * most recent KEEP_OTHER_BUNDLES bundles, and temp files of killed runs. Runs only when a cache is
 * written, so a run that reads its cache pays nothing.
 */
function prune(dir: string, keep: string): void {
  const now = Date.now();
  const bundles = new Map<string, { files: string[]; newest: number }>();
  const remove = (name: string) => {
    try {
      unlinkSync(join(dir, name));
    } catch {
      /* gone already, or not ours to remove */
    }
  };
  for (const name of readdirSync(dir)) {
    const tmp = name.endsWith('.tmp');
    if (!tmp && (!name.endsWith('.v8cache') || name.startsWith(`${keep}-`))) continue;
    let mtime: number;
    try {
      mtime = statSync(join(dir, name)).mtimeMs;
    } catch {
      continue;
    }
    if (now - mtime > (tmp ? ORPHAN_MS : STALE_MS)) remove(name);
    else if (!tmp) {
      const b = bundles.get(name.split('-')[0]!) ?? { files: [], newest: 0 };
      b.files.push(name);
      b.newest = Math.max(b.newest, mtime);
      bundles.set(name.split('-')[0]!, b);
    }
  }
  [...bundles.values()]
    .sort((a, b) => b.newest - a.newest)
    .slice(KEEP_OTHER_BUNDLES)
    .forEach((b) => b.files.forEach(remove));
}

/**
 * The cache directory and its parent, one level each. Not `{ recursive: true }`: on Node 20 that never
 * returns where mkdir answers ENOENT under an existing parent (XDG_CACHE_HOME=/proc/x spun forever).
 */
function ensureDir(dir: string): void {
  for (const d of [dirname(dir), dir]) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

const cache = cacheFile();
let cachedData: Buffer | undefined;
try {
  if (cache) cachedData = readFileSync(cache);
} catch {
  cachedData = undefined;
}
const script = new Script((Module as unknown as { wrap(s: string): string }).wrap(source), { filename: bundle, cachedData });
if (cache && (!cachedData || script.cachedDataRejected)) {
  // At exit, so the data includes the functions this run compiled (the command's own code).
  process.once('exit', () => {
    try {
      ensureDir(dirname(cache));
      const tmp = `${cache}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      renameSync(tmp, cache);
      prune(dirname(cache), basename(cache).split('-')[0]!);
    } catch {
      /* a read-only or missing home: run without a cache */
    }
  });
}
const mod = { exports: {} };
const require = createRequire(bundle);
(script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: unknown, f: string, d: string) => void)(mod.exports, require, mod, bundle, dirname(bundle));
