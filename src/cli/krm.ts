/** The CLI side of the KRM function doors: detect a ResourceList, run, write, set the exit code. */
import type { Ctx } from './context.js';
import type { ManifestInput } from './inputs.js';
import { EXIT, InputError } from '../errors.js';
import { writeAtomic } from '../io/files.js';
import { failsAt, type LintResult } from '../lint/engine.js';
import { SEVERITY_RANK, type Severity } from '../lint/types.js';
import type { PlanOptions } from '../plan/plan.js';
import { injectResourceList } from '../krm/inject.js';
import { findingResults, lintSettings, noteResults } from '../krm/lint.js';
import { parseResourceList, resultAt, withResults, type ResourceList, type Result } from '../krm/resource-list.js';

/**
 * `meshdrain inject` on one input that is a ResourceList: answer with a ResourceList. Returns false
 * when the input is not a ResourceList after all (inject then treats it as manifests).
 */
export async function injectKrm(input: ManifestInput, flags: PlanOptions & { config?: string; output?: string; verbose?: boolean }, ctx: Ctx): Promise<boolean> {
  const rl = parseResourceList(input.text, input.file);
  if (!rl) return false;
  await answer(rl, ctx, { to: flags.output }, async () => {
    // The run context (--kube-version, --istio-version, --mesh-config) as plain inject takes it.
    const { config, output: _to, verbose: _v, ...run } = flags;
    const r = await injectResourceList(rl, { ...run, policyFile: config, cwd: ctx.io.cwd });
    for (const n of r.notes) ctx.io.stderr(`meshdrain: ${n}\n`);
    return { text: r.text, results: r.results, exit: EXIT.ok };
  });
  return true;
}

/** Run a KRM function body; an input error becomes an error result in the ResourceList (exit 2). */
async function answer(rl: ResourceList, ctx: Ctx, output: { to?: string }, body: () => Promise<{ text: string; results: Result[]; exit: number }>): Promise<void> {
  const { io } = ctx;
  let text: string;
  try {
    const r = await body();
    text = withResults(r.text, rl.loaded.file, r.results);
    ctx.setExit(r.exit);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const inList = e.pos?.file === rl.loaded.file && e.pos.line !== undefined;
    const res = inList ? resultAt(rl, e.pos!.line!, e.pos!.col ?? 1, e.message, 'error') : { message: e.format(), severity: 'error' as const };
    text = withResults(rl.loaded.text, rl.loaded.file, [res]);
    io.stderr(`meshdrain: ${e.format()}\n`);
    ctx.setExit(e.exitCode);
  }
  if (output.to) writeAtomic(output.to, text, io.cwd);
  else io.stdout(text);
}

/** The lint flags a validator run may take from its functionConfig. */
export interface KrmLintFlags {
  kubeVersion?: string;
  istioVersion?: string;
  appShutdown?: string;
  failOn: Severity;
}

/**
 * `meshdrain lint` on one input that is a ResourceList: the items back unchanged, the findings as
 * results, exit 1 when one reaches --fail-on (kpt fails the pipeline on it). `runLint` is the lint
 * command's own flags → lint path, so the functionConfig's settings are read exactly as flags are.
 */
export async function lintKrm<F extends KrmLintFlags>(input: ManifestInput, flags: F, runLint: (f: F, inputs: ManifestInput[]) => LintResult, ctx: Ctx): Promise<boolean> {
  const rl = parseResourceList(input.text, input.file);
  if (!rl) return false;
  await answer(rl, ctx, {}, async () => {
    const s = lintSettings(rl);
    const failOn = s['fail-on'] ?? flags.failOn;
    if (!(failOn in SEVERITY_RANK)) throw new InputError(`functionConfig data.fail-on: expected error, warning or info, got ${JSON.stringify(failOn)}`, { file: rl.loaded.file });
    const merged: F = {
      ...flags,
      kubeVersion: s['kube-version'] ?? flags.kubeVersion,
      istioVersion: s['istio-version'] ?? flags.istioVersion,
      appShutdown: s['app-shutdown'] ?? flags.appShutdown,
      failOn: failOn as Severity,
    };
    const result = runLint(merged, [input]);
    return { text: rl.loaded.text, results: [...findingResults(rl, result.findings), ...noteResults(rl, result.notes)], exit: failsAt(result.findings, merged.failOn) ? EXIT.findings : EXIT.ok };
  });
  return true;
}
