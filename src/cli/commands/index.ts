import type { Command } from 'commander';
import type { Ctx } from '../context.js';
import { CATALOG, type CommandName } from './catalog.js';

export type RegisterCommand = (program: Command, ctx: Ctx) => void;

/**
 * Every subcommand, in the order `meshdrain --help` lists them. Loaded on demand: `meshdrain inject`
 * in a Helm post-renderer should not pay for loading the lab, lint rules and SARIF schemas.
 */
export const COMMANDS: Record<CommandName, () => Promise<RegisterCommand>> = {
  inject: async () => (await import('./inject.js')).registerInject,
  hook: async () => (await import('./hook.js')).registerHook,
  image: async () => (await import('./image.js')).registerImage,
  istio: async () => (await import('./istio.js')).registerIstio,
  lint: async () => (await import('./lint.js')).registerLint,
  lab: async () => (await import('./lab.js')).registerLab,
};

/** Register every command as a catalog entry only: name, term and summary (for help, version, typos). */
const listOnly: RegisterCommand = (program) => {
  for (const [name, { summary }] of Object.entries(CATALOG)) program.command(name).summary(summary);
  program.configureHelp({ subcommandTerm: (cmd) => CATALOG[cmd.name() as CommandName]?.term ?? cmd.name() });
};

/** The commands to register for argv: only the one named (also `help NAME`), else the catalog. */
export async function commandsFor(argv: string[]): Promise<RegisterCommand[]> {
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  const loader = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
  return loader ? [await loader()] : [listOnly];
}
