/**
 * An agent that dies before it is ready is reported in one line: which process, and the first line of
 * its error (QA 9 finding 2: `listen EACCES … 0.0.0.0:80` came with every Node stack frame joined in).
 * Runs the built agent (dist/) on the host: no namespace needed to make a listen fail.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentChannel, deathLine } from '../../src/lab/control.js';
import type { LabProc, ProcExit } from '../../src/lab/procs.js';

const AGENT = join(__dirname, '../../dist/lab/agent/main.js');

/** A LabProc for a plain child process (the lab's ProcTable needs a namespace). */
function hostProc(name: string, argv: string[]): LabProc {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let done!: (e: ProcExit) => void;
  const proc: LabProc = { name, pid: child.pid!, child, startedAt: Date.now(), exited: new Promise((r) => (done = r)), stderrTail: [] };
  createInterface({ input: child.stderr! }).on('line', (l) => proc.stderrTail.push(l));
  child.stdout!.resume();
  child.on('close', (code, signal) => {
    proc.exit = { code, signal, at: Date.now() };
    done(proc.exit);
  });
  return proc;
}

describe('an agent dying before it is ready', () => {
  let held: Server | undefined;
  afterAll(() => held?.close());

  it('is one line: the process and its error\'s first line, no stack frames', async () => {
    held = createServer();
    await new Promise<void>((r) => held!.listen(0, '0.0.0.0', () => r()));
    const port = (held.address() as { port: number }).port;
    const cfg = { pod: 'p1', appPort: port, metricsPort: null, externalIp: '127.0.0.1', externalPort: 1, shutdownWorkMs: 0, egressIntervalMs: 100, closeOnSigterm: false };
    const ch = new AgentChannel('app-ready');
    ch.attach(() => hostProc('lab-app-v1-1/app', [process.execPath, AGENT, 'app', JSON.stringify(cfg)]));
    const err = await ch.ready(10_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).toBe('LabEnvError');
    expect(err!.message).toBe(`lab-app-v1-1/app exited (1) before it was ready: app: Error: listen EADDRINUSE: address already in use 0.0.0.0:${port}`);
  });

  it('keeps unindented lines, drops frames, continuation lines and Node\'s version line', () => {
    expect(deathLine(['warming up', 'app: Error: boom', '    second line', '    at f (x.js:1:1)', '', 'Node.js v22.1.0'])).toBe('warming up / app: Error: boom');
    expect(deathLine([])).toBe('(nothing on stderr)');
  });
});
