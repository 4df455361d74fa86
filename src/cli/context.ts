/** What a command may touch of the outside world. Tests pass their own; only main.ts uses `process`. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  cwd: string;
  isStdinTTY: boolean;
  /** stderr is a terminal: progress may update one line in place. */
  isStderrTTY?: boolean;
  /** Environment (for PATH lookups, MESHDRAIN_* settings). */
  env: NodeJS.ProcessEnv;
  /** The name the user invoked, for usage lines (default meshdrain; `kubectl meshdrain` as a plugin). */
  programName?: string;
}

/**
 * The program name from the invoked path (process.argv[1], a symlink's own name): kubectl runs the
 * plugin as kubectl-meshdrain, and its user types `kubectl meshdrain`, so help says that.
 */
export function programNameOf(invoked: string | undefined): string {
  const base = (invoked ?? '').split(/[\\/]/).pop()!.replace(/\.(c?js|mjs|cmd|exe)$/i, '');
  return /^kubectl-meshdrain$/i.test(base) ? 'kubectl meshdrain' : 'meshdrain';
}

export interface Ctx {
  io: Io;
  /** Set the process exit code the CLI will return (0 ok, 1 findings/changes, 2 input). */
  setExit: (code: number) => void;
}

export function readStdinAll(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

export function processIo(): Io {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    readStdin: readStdinAll,
    cwd: process.cwd(),
    isStdinTTY: Boolean(process.stdin.isTTY),
    isStderrTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    programName: programNameOf(process.argv[1]),
  };
}

export { VERSION } from '../version.js';
