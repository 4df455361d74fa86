/** In-process CLI runs for lint tests (the same run() the binary uses, with a captured Io). */
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/run.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIX = `${ROOT}fixtures/lint/`;

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export async function lintCli(args: string[], opts: { stdin?: string; cwd?: string } = {}): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const code = await run(['lint', ...args], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: async () => opts.stdin ?? '',
    cwd: opts.cwd ?? ROOT,
    isStdinTTY: false,
    env: {},
  });
  return { code, stdout, stderr };
}

export interface JsonFinding {
  rule: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  file: string;
  line: number;
  column: number;
  fix: string;
}

export async function lintJson(args: string[], opts: { stdin?: string; cwd?: string } = {}): Promise<{ code: number; findings: JsonFinding[]; stderr: string }> {
  const r = await lintCli(['-f', 'json', ...args], opts);
  if (r.code === 2) throw new Error(`lint failed on input: ${r.stderr}`);
  return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: JsonFinding[] }).findings, stderr: r.stderr };
}

/** `# meshdrain-lint-args: ...` on a fixture's first line: extra CLI arguments (paths relative to the fixture). */
export function fixtureArgs(text: string, dir: string): string[] {
  const m = /^# meshdrain-lint-args: (.*)$/m.exec(text);
  if (!m) return [];
  return m[1]!.trim().split(/\s+/).map((a) => (a.startsWith('../') || a.startsWith('./') ? `${dir}/${a}` : a));
}
