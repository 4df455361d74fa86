/**
 * Is a hook exactly a hold meshdrain renders? Then its bound is the hold's timeout by construction,
 * though its main loop (`while :; … sleep "$md_int"`) looks endless to the generic analysis.
 *
 * The check re-renders: the hold's settings are read back from the script's header and start log
 * line, rendered again through the same generator (hooks/hold.ts, istio/holds.ts), and the result
 * must equal the exec command character for character. Any other script, one that merely contains
 * that text included, gets the generic analysis and its findings (ADR 041).
 */
import { DEFAULT_SHELL_IMAGE } from '../constants.js';
import { holdExecCommand, renderHoldScript } from '../hooks/hold.js';
import { parseStrategy } from '../hooks/strategy.js';
import { holdCommand } from '../istio/holds.js';
import { parseDuration } from '../model/duration.js';
import type { HoldSpec, ShellSource } from '../plan/types.js';

const HEADER = /^# meshdrain hold for istio-proxy's preStop: (.*)$/m;
const START = /; timeout (\S+), interval (\S+); log to /;
/** The note line istio/holds.ts puts first when the template or catalog chose the hold. */
const NOTE = /^\{ printf '%s\\n' 'meshdrain-hold: ([^'\n]*)'/;

/** The HoldSpec whose rendering is exactly `argv`, or null. Never throws. */
export function ownHold(argv: readonly string[]): HoldSpec | null {
  if (argv.length !== 3 || argv[1] !== '-c') return null;
  const script = argv[2]!;
  const header = HEADER.exec(script);
  const start = START.exec(script);
  if (!header || !start) return null;
  let hold: HoldSpec;
  try {
    hold = { strategies: header[1]!.split(' ').map(parseStrategy), timeoutMs: parseDuration(start[1]!), intervalMs: parseDuration(start[2]!) };
  } catch {
    return null;
  }
  const shells: ShellSource[] = [{ kind: 'image' }];
  const sh = argv[0]!;
  // A shell brought in by the init container: `<mountPath>/sh`. The image does not appear in the command.
  if (sh.endsWith('/sh') && sh !== '/bin/sh') shells.push({ kind: 'init-container', image: DEFAULT_SHELL_IMAGE, mountPath: sh.slice(0, -'/sh'.length) });
  const note = NOTE.exec(script)?.[1];
  for (const shell of shells) {
    try {
      const renders = [note === undefined ? holdExecCommand(hold, shell) : holdCommand(hold, shell, note)];
      // `meshdrain hook` prints the whole script, comments included; `sh -c "$(meshdrain hook)"` runs it.
      if (shell.kind === 'image' && note === undefined) renders.push(['/bin/sh', '-c', renderHoldScript(hold)]);
      if (renders.some((r) => r.length === argv.length && r.every((x, i) => x === argv[i]))) return hold;
    } catch {
      // Settings the generator refuses (a bad mount path, an out-of-range interval) were not rendered by it.
    }
  }
  return null;
}
