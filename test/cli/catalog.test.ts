/** `meshdrain --help` lists commands from the catalog without loading them; it must say what they say. */
import { Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../src/cli/commands/catalog.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import type { Ctx } from '../../src/cli/context.js';
import { cli } from '../helpers/cli.js';

const ctx = { io: {}, setExit: () => undefined } as unknown as Ctx;

describe('command catalog', () => {
  it.each(Object.keys(COMMANDS))('%s: the catalog term and summary are what the loaded command shows', async (name) => {
    const program = new Command('meshdrain');
    (await COMMANDS[name as keyof typeof COMMANDS]())(program, ctx);
    const cmd = program.commands.find((c) => c.name() === name)!;
    expect(new Help().subcommandTerm(cmd)).toBe(CATALOG[name as keyof typeof CATALOG].term);
    expect(cmd.summary()).toBe(CATALOG[name as keyof typeof CATALOG].summary);
  });

  it('lists every command, in the catalog order, from the built CLI', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    const commands = r.stdout.slice(r.stdout.indexOf('Commands:'), r.stdout.indexOf('Examples:'));
    const listed = [...commands.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]);
    expect(listed.filter((n) => n !== 'help')).toEqual(Object.keys(CATALOG));
    expect(Object.keys(CATALOG)).toEqual(Object.keys(COMMANDS));
  });

  it('help NAME and NAME --help show the full command help', () => {
    expect(cli(['help', 'lint']).stdout).toMatch(/--fail-on <severity>/);
    expect(cli(['lint', '--help']).stdout).toMatch(/--fail-on <severity>/);
  });
});
