/**
 * Manifest inputs for the commands that read manifests (inject, lint): PATH arguments → texts, with
 * the same refusals for both — no PATH on a terminal, stdin twice, and an input with no manifests.
 */
import { InputError, UsageError } from '../errors.js';
import { expandPaths, MANIFEST_EXTENSIONS, readText } from '../io/files.js';
import type { Io } from './context.js';

export interface ManifestInput {
  /** The path as expanded ('-' for stdin). */
  path: string;
  /** The name used in messages ('<stdin>' for stdin). */
  file: string;
  text: string;
}

export const STDIN_NAME = '<stdin>';

/**
 * Read every input named by PATH arguments (stdin when none). A terminal on stdin with no PATH is a
 * usage error: waiting for a Ctrl-D the user does not know to type looks like a hang.
 */
export async function readManifestInputs(paths: readonly string[], io: Io, recursive: boolean): Promise<ManifestInput[]> {
  if (paths.length === 0 && io.isStdinTTY) throw new UsageError('no input: give manifest files or directories, or pipe manifests to stdin (see --help)');
  const skipped: string[] = [];
  const expanded = expandPaths(paths.length ? [...paths] : ['-'], io.cwd, recursive, skipped);
  if (skipped.length) {
    const list = skipped.length > 3 ? `${skipped.slice(0, 3).join(', ')} and ${skipped.length - 3} more` : skipped.join(', ');
    io.stderr(`meshdrain: skipped Helm chart templates under ${list}: render them first (helm template) and pipe the result\n`);
  }
  if (expanded.filter((p) => p === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  const inputs: ManifestInput[] = [];
  for (const path of expanded) {
    inputs.push(path === '-' ? { path, file: STDIN_NAME, text: await io.readStdin() } : { path, file: path, text: readText(path, io.cwd) });
  }
  return inputs;
}

/**
 * Zero YAML documents across all inputs is a mistake (an empty directory, a pipe from a failed
 * command), not a success. A stream of only ConfigMaps or CRDs is not empty and passes.
 */
export function requireManifests(documents: number, paths: readonly string[]): void {
  if (documents > 0) return;
  const where = paths.length ? paths.map((p) => (p === '-' ? STDIN_NAME : p)).join(', ') : STDIN_NAME;
  const hint = paths.some((p) => p !== '-') ? ` (directories are searched for ${MANIFEST_EXTENSIONS.join(', ')} files)` : '';
  throw new InputError(`no manifests found in ${where}${hint}`);
}
