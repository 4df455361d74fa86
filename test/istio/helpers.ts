import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parseDocument } from 'yaml';
import type { Io } from '../../src/cli/context.js';
import { run } from '../../src/cli/run.js';

export const FIX = fileURLToPath(new URL('../../fixtures/istio/', import.meta.url));
export const INJECTOR = {
  v13: `${FIX}injector/istio-1.3.1-sidecar-injector-configmap-kubectl-dump.yaml`,
  v15: `${FIX}injector/istio-1.5.10-sidecar-injector-configmap.yaml`,
  modern: `${FIX}injector/istio-sidecar-injector-configmap.yaml`,
};

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Run the CLI in-process with a fake Io. */
export async function runCli(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: async () => stdin,
    cwd: process.cwd(),
    isStdinTTY: false,
    env: process.env,
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

/** The injector's template string (templates.sidecar or template) out of a ConfigMap text. */
export function templateOf(cmText: string): string {
  const docs = parseAllDocuments(cmText);
  if (!Array.isArray(docs)) throw new Error('no docs');
  for (const d of docs) {
    const v = d.toJS() as { kind?: string; data?: { config?: string } };
    if (v?.kind !== 'ConfigMap' || typeof v.data?.config !== 'string') continue;
    const cfg = parseDocument(v.data.config).toJS() as { template?: string; templates?: Record<string, string> };
    return cfg.templates?.sidecar ?? cfg.template ?? '';
  }
  throw new Error('no injector');
}

export function valuesOf(cmText: string): unknown {
  const docs = parseAllDocuments(cmText);
  if (!Array.isArray(docs)) throw new Error('no docs');
  for (const d of docs) {
    const v = d.toJS() as { kind?: string; data?: { values?: string } };
    if (v?.kind === 'ConfigMap' && typeof v.data?.values === 'string') return JSON.parse(v.data.values);
  }
  return undefined;
}

/**
 * Count Go template control actions with a plain regex (independent of src/istio/gotemplate.ts):
 * openers (if/range/with/define/block) vs {{ end }}.
 */
export function regexBalance(t: string): { openers: number; ends: number } {
  const openers = (t.match(/\{\{-?\s*(if|range|with|define|block)\b/g) ?? []).length;
  const ends = (t.match(/\{\{-?\s*end\s*-?\}\}/g) ?? []).length;
  return { openers, ends };
}

export function shellcheck(script: string, args: string[] = []): { code: number; out: string } {
  const r = spawnSync('shellcheck', ['-s', 'sh', ...args, '-'], { input: script, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

/** Strategic-merge `patch` into the object in `file` with the real kubectl implementation (offline). */
export function kubectlPatch(objJson: string, patch: unknown): unknown {
  const r = spawnSync('kubectl', ['patch', '--local', '-f', '-', '--type', 'strategic', '-p', JSON.stringify(patch), '-o', 'json'], {
    input: objJson,
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`cannot run kubectl (${r.error.message}): the strategic-merge tests use kubectl's own implementation; install kubectl`);
  if (r.status !== 0) throw new Error(`kubectl patch failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
