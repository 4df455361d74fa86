import { spawn, spawnSync } from 'node:child_process';
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

/**
 * Run a long command without blocking the test worker's event loop. A spawnSync of a minute or more
 * starves vitest's worker RPC (birpc's 60 s timeout: "Timeout calling onTaskUpdate"), which fails the
 * whole run after every test has passed; long runs (the lab, dependency-cruiser) go through this.
 */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
