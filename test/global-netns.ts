/**
 * vitest globalSetup: tag this run's network namespaces, and remove them — and only them — at the
 * end, also when a worker was killed mid-test (seen: `hook<pid>a0` left behind after SIGTERM to a
 * vitest worker) or the run itself exits early. Namespaces of other runs and of real lab runs carry
 * another tag or none, so they are never touched.
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { NETNS_TAG_ENV, taggedPrefixes } from './helpers/netns-tag.js';

/** This run's namespaces that still exist. */
export function leftoverNamespaces(tag: string): string[] {
  const prefixes = taggedPrefixes(tag);
  if (!prefixes.length) return [];
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => prefixes.some((p) => n.startsWith(p)));
}

/** Kill what still runs inside this run's namespaces, then delete them. Returns what it removed. */
export function removeTaggedNamespaces(tag: string): string[] {
  const left = leftoverNamespaces(tag);
  for (const ns of left) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  // Pods before the lab namespace that holds their bridge (the kernel copes either way).
  for (const ns of [...left].sort((a, b) => Number(a.endsWith('-lab')) - Number(b.endsWith('-lab')))) spawnSync('ip', ['netns', 'del', ns]);
  return left;
}

/** Set once per vitest process: every project runs the global setup (vitest.config.ts has two). */
const RUN_TAG = Symbol.for('meshdrain.test.netnsTag');

export default function setup(): () => void {
  const g = globalThis as { [RUN_TAG]?: string };
  // The second project's setup shares the first one's tag; the first one's teardown removes them all.
  if (g[RUN_TAG]) return () => undefined;
  const tag = Array.from({ length: 6 }, () => String.fromCharCode(97 + randomInt(26))).join('');
  g[RUN_TAG] = tag;
  process.env[NETNS_TAG_ENV] = tag;
  if (process.getuid?.() !== 0) return () => undefined;
  let done = false;
  const teardown = () => {
    if (done) return;
    done = true;
    const removed = removeTaggedNamespaces(tag);
    if (removed.length) process.stderr.write(`test teardown: removed ${removed.length} network namespace(s) this run left behind: ${removed.join(' ')}\n`);
  };
  process.once('exit', teardown);
  return teardown;
}
