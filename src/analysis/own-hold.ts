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
import { appWaitExecCommand, renderAppWaitScript } from '../hooks/app-wait.js';
import { holdExecCommand, renderHoldScript } from '../hooks/hold.js';
import { parseStrategy } from '../hooks/strategy.js';
import { holdCommand } from '../istio/holds.js';
import { parseDuration } from '../model/duration.js';
import type { AppWaitSpec, HoldSpec, ShellSource } from '../plan/types.js';

const HEADER = /^# meshdrain hold for istio-proxy's preStop: (.*)$/m;
const START = /; timeout (\S+), interval ([^\s,;]+)(?:, release after (\S+) with nothing held)?; log to /;
/** The drain-at-start step's log line (hooks/hold.ts DRAIN_AT_START). */
const DRAIN = /asked pilot-agent to drain inbound/;
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
    if (start[3] !== undefined) hold.lingerMs = parseDuration(start[3]);
    if (DRAIN.test(script)) hold.drainAtStart = true;
  } catch {
    return null;
  }
  const shells = shellsOf(argv[0]!);
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

/** The shells a command may have been rendered for: the image's, or one brought in at `<mountPath>/sh`. */
function shellsOf(sh: string): ShellSource[] {
  const shells: ShellSource[] = [{ kind: 'image' }];
  // The image does not appear in the command.
  if (sh.endsWith('/sh') && sh !== '/bin/sh') shells.push({ kind: 'init-container', image: DEFAULT_SHELL_IMAGE, mountPath: sh.slice(0, -'/sh'.length) });
  return shells;
}

const APP_HEADER = /^# meshdrain app delay: SIGTERM waits until inbound traffic has left the pod \(quiet (\S+), at most (\S+)\)$/m;
/** pauseInit's line (md_pause itself also sets md_int_ms, to 1000, when sleep refuses fractions). */
const APP_INTERVAL = /^\s*md_int=[\d.]+; md_int_ms=(\d+)$/m;

/** The app's traffic-gone wait (hooks/app-wait.ts) whose rendering is exactly `argv`, or null. Never throws. */
export function ownAppWait(argv: readonly string[]): AppWaitSpec | null {
  if (argv.length !== 3 || argv[1] !== '-c') return null;
  const script = argv[2]!;
  const header = APP_HEADER.exec(script);
  const interval = APP_INTERVAL.exec(script);
  if (!header || !interval) return null;
  let w: AppWaitSpec;
  try {
    w = { quietMs: parseDuration(header[1]!), maxMs: parseDuration(header[2]!), intervalMs: Number(interval[1]) };
  } catch {
    return null;
  }
  for (const shell of shellsOf(argv[0]!)) {
    try {
      const renders = [appWaitExecCommand(w, shell)];
      if (shell.kind === 'image') renders.push(['/bin/sh', '-c', renderAppWaitScript(w)]);
      if (renders.some((r) => r.length === argv.length && r.every((x, i) => x === argv[i]))) return w;
    } catch {
      // Settings the generator refuses were not rendered by it.
    }
  }
  return null;
}
