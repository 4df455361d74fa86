/**
 * What dead lab runs left behind: a lab killed mid-teardown (SIGKILL, a third Ctrl-C, a crash)
 * leaves its namespaces `md[tag]<pid>x<n>-*` and its temp directory `meshdrain-lab-md[tag]<pid>x<n>-*`
 * (netns.ts newRunPrefix, files.ts installLabFiles). The next lab start removes those whose pid no
 * longer runs; a live pid's are another run's and are never touched (ADR 050 addendum, qa7 F10).
 */
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCmd } from './exec.js';
import { byTeardownOrder } from './netns.js';

/** A lab namespace name: the run prefix (with its pid) and the party (lab, cli, ext, zt, pN). */
const NS_RE = /^(md(?:[a-z]{4,8})?(\d+)x\d+)-(?:lab|cli|ext|zt|p\d+)$/;
/** A lab temp directory: meshdrain-lab-<prefix>-<mkdtemp's 6 characters>. */
const DIR_RE = /^meshdrain-lab-(md(?:[a-z]{4,8})?(\d+)x\d+)-[A-Za-z0-9]{6}$/;

export interface StaleRun {
  prefix: string;
  namespaces: string[];
  dirs: string[];
}

export interface StaleSweep {
  removed: StaleRun[];
  /** Dead pids' runs left in place because a process still runs in one of their namespaces. */
  busy: string[];
}

/** Whether a process with this pid exists (EPERM: it exists, it is someone else's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the namespaces and temp directories of lab runs whose process is gone. A run one of whose
 * namespaces still holds a process is left alone (it may belong to a pid this machine's view does
 * not show); it is reported in `busy`.
 */
export async function removeStaleRuns(opts: { tmp?: string; alive?: (pid: number) => boolean } = {}): Promise<StaleSweep> {
  const alive = opts.alive ?? pidAlive;
  const tmp = opts.tmp ?? tmpdir();
  const runs = new Map<string, StaleRun>();
  const runOf = (prefix: string) => runs.get(prefix) ?? runs.set(prefix, { prefix, namespaces: [], dirs: [] }).get(prefix)!;
  const list = await execCmd(['ip', 'netns', 'list']);
  for (const line of list.stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = NS_RE.exec(ns);
    if (m && !alive(Number(m[2]))) runOf(m[1]!).namespaces.push(ns);
  }
  let entries: string[] = [];
  try {
    entries = readdirSync(tmp);
  } catch {
    /* no temp dir to look at */
  }
  for (const name of entries) {
    const m = DIR_RE.exec(name);
    if (m && !alive(Number(m[2]))) runOf(m[1]!).dirs.push(join(tmp, name));
  }
  const removed: StaleRun[] = [];
  const busy: string[] = [];
  for (const run of runs.values()) {
    const pids = await Promise.all(run.namespaces.map(async (ns) => (await execCmd(['ip', 'netns', 'pids', ns])).stdout.trim()));
    if (pids.some(Boolean)) {
      busy.push(run.prefix);
      continue;
    }
    for (const ns of [...run.namespaces].sort(byTeardownOrder)) await execCmd(['ip', 'netns', 'del', ns]);
    for (const d of run.dirs) rmSync(d, { recursive: true, force: true });
    removed.push(run);
  }
  return { removed, busy };
}

/** One line for the lab's stderr, or undefined when there was nothing. */
export function staleSweepLine(s: StaleSweep): string | undefined {
  const parts: string[] = [];
  if (s.removed.length) {
    const ns = s.removed.reduce((n, r) => n + r.namespaces.length, 0);
    const dirs = s.removed.reduce((n, r) => n + r.dirs.length, 0);
    parts.push(`removed what ${s.removed.length === 1 ? 'a dead lab run' : `${s.removed.length} dead lab runs`} left behind (${s.removed.map((r) => r.prefix).join(', ')}): ${ns} network namespace(s), ${dirs} temp director${dirs === 1 ? 'y' : 'ies'}`);
  }
  if (s.busy.length) parts.push(`left ${s.busy.join(', ')} in place: its process is gone but something still runs in its namespaces (docs/lab.md, "Leftovers")`);
  return parts.length ? parts.join('; ') : undefined;
}
