/**
 * What the lab's netns test files share: whether this machine can run the lab (root and the tools),
 * the failing test that says why when MESHDRAIN_REQUIRE_ROOT_TESTS=1 demands it, and one run of the
 * lab summarized per scenario (the options, runLab and summarize every file's beforeAll repeated).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { answerLine, summarize, type ScenarioSummary } from '../../src/lab/report.js';
import { DEFAULT_LAB_OPTIONS, runLab, type LabOptions, type ScenarioRun } from '../../src/lab/run.js';
import { loadPolicy } from '../../src/policy/load.js';

/**
 * The lab's app policy (`app: {shell: true}`, LAB_APP_POLICY) with the app's traffic wait bounded at
 * 10 s instead of 30 s: with long-lived connections (gRPC Watch streams, WebSockets) the wait always
 * runs to its bound (ADR 076 addendum), and 10 s still covers the tests' 6 s propagation. Saves 20 s
 * per pod in the grpc and websocket files; the bound itself is asserted there.
 */
export const LONG_LIVED_TEST_MAX_DELAY_S = 10;

/**
 * A meshdrain row over long-lived connections: the pods that still carried one waited the app's whole
 * bound before SIGTERM (the log and the timing agree), at least one did, and the answer line says how many.
 */
export function expectAppWaitRanToBound(s: ScenarioSummary): void {
  const bound = s.pods.filter((p) => p.appWaitHitBound);
  expect(bound.length, JSON.stringify(s.pods.map((p) => p.split))).toBeGreaterThan(0);
  for (const p of bound) expect(p.split.appDelaySeconds).toBeGreaterThanOrEqual(LONG_LIVED_TEST_MAX_DELAY_S - 0.5);
  expect(answerLine(s)).toMatch(new RegExp(`ran to its upper bound in ${bound.length} of ${s.podsTerminated} pods \\(long-lived connections`));
}
export const longLivedTestPolicy = () =>
  loadPolicy(`apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {shell: true, maxDelay: ${LONG_LIVED_TEST_MAX_DELAY_S}s}\n`, 'long-lived-test-policy.yaml');

export interface LabRoot {
  ok: boolean;
  reason: string;
}

/** Root and each tool on PATH, or the first reason not. */
export function labRoot(tools: readonly string[]): LabRoot {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root for ip netns and iptables' };
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return { ok: false, reason: `${tool} missing` };
  }
  return { ok: true, reason: '' };
}

/** With MESHDRAIN_REQUIRE_ROOT_TESTS=1 a machine that cannot run the lab fails instead of skipping. */
export function requireLabRoot(title: string, root: LabRoot): void {
  describe.runIf(!root.ok && process.env.MESHDRAIN_REQUIRE_ROOT_TESTS === '1')(`${title} (required)`, () => {
    it('has root and the tools', () => {
      throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but ${root.reason}`);
    });
  });
}

export interface LabResult {
  /** Summaries by scenario name (`name protocol` when the run had several protocols). */
  sums: Record<string, ScenarioSummary>;
  runs: ScenarioRun[];
  prefix: string;
}

/** One lab run on the defaults overridden by `o`, summarized per scenario. */
export async function runAndSummarize(o: Partial<LabOptions> & Pick<LabOptions, 'scenarios'>): Promise<LabResult> {
  let prefix = '';
  const opts: LabOptions = {
    ...DEFAULT_LAB_OPTIONS,
    ...o,
    onPrefix: (p) => {
      prefix = p;
      o.onPrefix?.(p);
    },
  };
  const runs = await runLab(opts);
  const several = (opts.protocols?.length ?? 0) > 1;
  const sums = Object.fromEntries(runs.map((r) => [several ? `${r.scenario.name} ${r.protocol ?? 'http1'}` : r.scenario.name, summarize(r, opts)]));
  return { sums, runs, prefix };
}
