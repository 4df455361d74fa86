/**
 * Manifest inputs for the commands that read manifests (inject, lint): PATH arguments → texts, with
 * the same refusals for both — no PATH on a terminal, stdin twice, a directory with no manifest files —
 * and the same note for files or stdin that hold no manifests (not an error, ADR 083).
 */
import { UsageError } from '../errors.js';
import { expandPaths, readText } from '../io/files.js';
import type { Io } from './context.js';

export interface ManifestInput {
  /** The path as expanded ('-' for stdin). */
  path: string;
  /** The name used in messages ('<stdin>' for stdin). */
  file: string;
  text: string;
}

export const STDIN_NAME = '<stdin>';

/** Up to three names, then how many more: "a, b, c and 4 more". */
function firstFew(names: readonly string[]): string {
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}

/**
 * Read every input named by PATH arguments (stdin when none). A terminal on stdin with no PATH is a
 * usage error: waiting for a Ctrl-D the user does not know to type looks like a hang.
 */
export async function readManifestInputs(paths: readonly string[], io: Io, recursive: boolean): Promise<ManifestInput[]> {
  if (paths.length === 0 && io.isStdinTTY) throw new UsageError('no input: give manifest files or directories, or pipe manifests to stdin (see --help)');
  const skipped: string[] = [];
  const patches: string[] = [];
  const expanded = expandPaths(paths.length ? [...paths] : ['-'], io.cwd, recursive, skipped, patches);
  if (skipped.length) io.stderr(`meshdrain: skipped Helm chart templates under ${firstFew(skipped)}: render them first (helm template) and pipe the result\n`);
  if (patches.length) {
    io.stderr(`meshdrain: skipped kustomize patches ${firstFew(patches)} (listed in a kustomization: partial objects that kustomize merges): run on kubectl kustomize output, or run meshdrain as a kustomize transformer\n`);
  }
  if (expanded.filter((p) => p === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  const inputs: ManifestInput[] = [];
  for (const path of expanded) {
    inputs.push(path === '-' ? { path, file: STDIN_NAME, text: await io.readStdin() } : { path, file: path, text: readText(path, io.cwd) });
  }
  return inputs;
}

/**
 * Zero YAML documents across all inputs that were named (files, stdin) is not an error: a
 * pre-commit hook passes only the changed files, one of them may be emptied; a Helm post-renderer
 * gets nothing from a chart that renders nothing. The caller passes the input through unchanged and
 * exits 0; this says so once on stderr. (A directory with no manifest files at all is refused in
 * expandPaths: a wrong path, not an empty input. ADR 083.) A stream of only ConfigMaps or CRDs
 * holds documents and gets no note.
 */
export function noteIfNoManifests(documents: number, inputs: readonly Pick<ManifestInput, 'file'>[], io: Io): boolean {
  if (documents > 0) return false;
  // Every input was a skipped patch or chart directory, and that was said.
  if (inputs.length === 0) return true;
  io.stderr(`meshdrain: no manifests in ${firstFew(inputs.map((i) => i.file))}\n`);
  return true;
}
