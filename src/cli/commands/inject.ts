import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import type { Ctx } from '../context.js';

export function registerInject(program: Command, _ctx: Ctx): void {
  program
    .command('inject')
    .description('(being built)')
    .allowUnknownOption()
    .action(() => {
      throw new InputError('meshdrain inject is not built yet');
    });
}
