import type { Command } from 'commander';
import type { Ctx } from '../context.js';

export type RegisterCommand = (program: Command, ctx: Ctx) => void;

/**
 * Every subcommand, in the order `meshdrain --help` lists them. Loaded on demand: `meshdrain inject`
 * in a Helm post-renderer should not pay for loading the lab, lint rules and SARIF schemas.
 */
export const COMMANDS: Record<string, () => Promise<RegisterCommand>> = {
  inject: async () => (await import('./inject.js')).registerInject,
  hook: async () => (await import('./hook.js')).registerHook,
  image: async () => (await import('./image.js')).registerImage,
  istio: async () => (await import('./istio.js')).registerIstio,
  lint: async () => (await import('./lint.js')).registerLint,
  lab: async () => (await import('./lab.js')).registerLab,
};

/** The commands to register for argv: only the one named, or all (for help and unknown commands). */
export async function commandsFor(argv: string[]): Promise<RegisterCommand[]> {
  const first = argv.find((a) => !a.startsWith('-'));
  const loader = first !== undefined && first !== 'help' ? COMMANDS[first] : undefined;
  return Promise.all(loader ? [loader()] : Object.values(COMMANDS).map((load) => load()));
}
