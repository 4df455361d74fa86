import { Command, CommanderError } from 'commander';
import { EXIT, InputError } from '../errors.js';
import { commandsFor } from './commands/index.js';
import { VERSION, type Ctx, type Io } from './context.js';

const TOP_EXAMPLES = `
Examples:
  meshdrain inject deploy.yaml > deploy.injected.yaml   # the edited manifest on stdout, notes on stderr
  helm template web ./chart | meshdrain inject | kubectl apply -f -
  meshdrain inject --check -R k8s/                       # CI: exit 1 when a manifest needs the edit
  meshdrain lint --format sarif k8s/ > meshdrain.sarif
  sudo meshdrain lab --quick                             # the race and the fix, on this machine

Each command has --help with its own examples: meshdrain inject --help.
Exit codes: 0 ok, 1 findings (lint, inject --check; lab: a scenario not as expected), 2 bad input or usage.`;

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
      // One line a person can act on: "meshdrain: unknown option '--x' (Did you mean --y?) (see --help)";
      // commander puts its suggestion on a line of its own, which a CI log's first line would lose.
      outputError: (str, write) => write(`meshdrain: ${str.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see --help)\n`),
    })
    .addHelpText('after', TOP_EXAMPLES)
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
