import { Command, CommanderError } from 'commander';
import { EXIT, InputError } from '../errors.js';
import { commandsFor } from './commands/index.js';
import { VERSION, type Ctx, type Io } from './context.js';

/** Run the CLI with argv (without node and script). Never calls process.exit; returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const ctx: Ctx = { io, setExit: (c) => void (exitCode = Math.max(exitCode, c)) };
  const program = new Command(io.programName ?? 'meshdrain')
    .description('Make pod shutdown in an Istio mesh lose nothing: the proxy waits for the app, the grace period fits.')
    .version(VERSION, '-V, --version')
    .option('--debug', 'print stack traces for internal errors')
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      // One line a person can act on: "meshdrain: unknown option '--x' (see --help)".
      outputError: (str, write) => write(`meshdrain: ${str.trim().replace(/^error: /, '')} (see --help)\n`),
    })
    .exitOverride();
  try {
    for (const register of await commandsFor(argv)) register(program, ctx);
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version land here with exitCode 0; usage mistakes with 1 → 2 (usage error).
      return err.exitCode === 0 ? EXIT.ok : EXIT.input;
    }
    if (err instanceof InputError) {
      io.stderr(`meshdrain: ${err.format()}\n`);
      return err.exitCode;
    }
    const debug = argv.includes('--debug');
    const e = err as Error;
    io.stderr(`meshdrain: internal error: ${e?.message ?? String(err)}${debug ? `\n${e?.stack ?? ''}` : ' (run with --debug for a stack trace)'}\n`);
    return EXIT.internal;
  }
}
