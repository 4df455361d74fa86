import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import type { Ctx } from '../context.js';

// Placeholder until its issue lands: registered so --help lists it, refuses to run.
export function registerLint(program: Command, _ctx: Ctx): void {
  program
    .command('lint')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new InputError('meshdrain lint is not built yet');
    });
}
