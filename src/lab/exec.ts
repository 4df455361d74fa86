/** Run a system command (ip, iptables) without a shell; argv only, so no value ever meets a shell. */
import { spawn } from 'node:child_process';
import { LabEnvError } from './errors.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run argv[0] with the rest as arguments; optional stdin text. Never throws for a non-zero exit. */
export function execCmd(argv: string[], input?: string, timeoutMs = 20_000): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) return reject(new LabEnvError('execCmd: empty argv'));
    // Own process group: a terminal's Ctrl-C reaches the whole foreground group, and a second one
    // killed the teardown's `ip netns del` with the lab (qa7 F10). The lab decides when its commands stop.
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: labEnv(), detached: true });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new LabEnvError(`${file}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Like execCmd but throws with the command and its stderr when it fails. */
export async function mustExec(argv: string[], input?: string): Promise<string> {
  const r = await execCmd(argv, input);
  if (r.code !== 0) throw new LabEnvError(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  return r.stdout;
}

/** The environment every lab child gets: a fixed PATH, no inherited secrets or proxies. */
export function labEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', ...extra };
}
