import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = `${ROOT}dist/cli/main.js`;

/** Run the built CLI as a user would (a real process), returning code, stdout and stderr. */
export function cli(args: string[], opts: { input?: string; cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input: opts.input ?? '', cwd: opts.cwd ?? ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The original lines must appear, in order, in the output (the edit only added lines). */
export function isLineSubsequence(original: string, output: string): boolean {
  const out = output.split('\n');
  let j = 0;
  for (const line of original.split('\n')) {
    while (j < out.length && out[j] !== line) j++;
    if (j === out.length) return false;
    j++;
  }
  return true;
}
