/**
 * The app's delay before SIGTERM as an observed event (ADR 014): the app container's preStop polls
 * the pod's TCP table and ends once no inbound connection has been seen for a quiet window, within
 * an upper bound. POSIX sh with builtins and `sleep` only; generated text, nothing here runs it.
 *
 * An inbound connection is an ESTABLISHED row whose local port is Envoy's inbound capture port or a
 * listening non-Istio port (the app's own, reached directly in ambient or without interception), and
 * whose remote address is not loopback (Envoy's own connections to the app come from 127.0.0.6/::6).
 */
import { InputError } from '../errors.js';
import { INBOUND_CAPTURE_PORT, ISTIO_PORTS } from '../istio/facts.js';
import { formatDuration } from '../model/duration.js';
import type { AppWaitSpec, ShellSource } from '../plan/types.js';
import { embedded, shellExecCommand } from './hold.js';
import { shQuote } from './quote.js';
import { hexPort, SH_LISTEN_PORTS, SH_LOOPBACK, SH_ROWS, TIME_WAIT_TICK_MS, TIME_WAIT_TICKS } from './proc-tcp.js';
import { pauseInit, renderClock, SH_CLOCK_INIT, SH_PAUSE } from './sh-log.js';

/** Istio's ports other than the inbound capture: their connections are not the app's clients. */
const OTHER_ISTIO_PORTS = ISTIO_PORTS.filter((p) => p !== INBOUND_CAPTURE_PORT).map(hexPort).join('|');

/** The log tag of the app's delay (`kubectl logs -c <app>` shows it). */
export const APP_WAIT_TAG = 'meshdrain-app-delay';
/** How its last log line starts when it ended at its upper bound with inbound traffic still there (the lab reads it). */
export const APP_WAIT_END_BOUND = 'end: upper bound';

/** Validate an AppWaitSpec from any source. Throws InputError; returns it unchanged. */
export function checkAppWait(w: AppWaitSpec): AppWaitSpec {
  const ok = (n: number, lo: number, hi: number) => Number.isSafeInteger(n) && n >= lo && n <= hi;
  if (!ok(w.intervalMs, 10, 60_000)) throw new InputError(`app wait interval: expected whole milliseconds between 10ms and 60s, got ${String(w.intervalMs)}`);
  if (!ok(w.quietMs, 0, 3_600_000)) throw new InputError(`app quiet window: expected whole milliseconds between 0 and 1h, got ${String(w.quietMs)}`);
  if (!ok(w.maxMs, w.quietMs, 86_400_000)) throw new InputError(`app maximum delay: expected whole milliseconds between the quiet window (${formatDuration(w.quietMs)}) and 24h, got ${String(w.maxMs)}`);
  return w;
}

/** The whole script (with comments, for `meshdrain hook`-like output and shellcheck). */
export function renderAppWaitScript(w: AppWaitSpec): string {
  checkAppWait(w);
  const capture = hexPort(INBOUND_CAPTURE_PORT);
  return `#!/bin/sh
# meshdrain app delay: SIGTERM waits until inbound traffic has left the pod (quiet ${formatDuration(w.quietMs)}, at most ${formatDuration(w.maxMs)})
${renderClock(APP_WAIT_TAG)}${SH_PAUSE}${SH_ROWS}${SH_LOOPBACK}${SH_LISTEN_PORTS}# md_irow: an inbound connection (see the file header of src/hooks/app-wait.ts), open now
# (status 0), or closed by the pod's side less than the quiet window ago: its TIME_WAIT row says
# when, so a connection that opened and closed between two polls is still seen (md_tw = its time).
md_irow() {
  case $3 in 01|06) ;; *) return 1 ;; esac
  md_p=\${1##*:}
  case $md_p in
    ${capture}) ;;
    ${OTHER_ISTIO_PORTS}) return 1 ;;
    *) case "$md_lports" in *" $md_p "*) ;; *) return 1 ;; esac ;;
  esac
  md_loopback "\${2%:*}" && return 1
  if [ "$3" = 06 ]; then
    md_t=$((md_ms - (${TIME_WAIT_TICKS} - 0x\${5#*:}) * ${TIME_WAIT_TICK_MS}))
    if [ "$md_t" -gt "$md_tw" ]; then md_tw=$md_t; md_hit="port $((0x$md_p)), closed $(((md_ms - md_t) / 10 / 100)).$(((md_ms - md_t) / 100 % 10))s ago"; fi
    return 1
  fi
  md_hit="port $((0x$md_p)) open"; return 0
}
md_inbound() {
  md_tw=0
  for md_file in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$md_file" ] && md_rows "$md_file" md_irow tw && return 0
  done
  return 1
}
meshdrain_app_wait() {
  ${SH_CLOCK_INIT}
  ${pauseInit(w.intervalMs)}
  md_log "start: SIGTERM waits until no inbound connection for ${formatDuration(w.quietMs)} (at most ${formatDuration(w.maxMs)}); log to \${md_out:-stderr}"
  md_last=$md_t0; md_busy=; md_hit=
  while :; do
    md_now
    md_listen_ports
    if [ -z "$md_proc_ok" ]; then
      md_log "cannot read /proc/net/tcp or /proc/net/tcp6: waiting the upper bound ${formatDuration(w.maxMs)} instead"
      while [ "$((md_ms - md_t0))" -lt ${w.maxMs} ]; do md_pause || return 0; md_now; done
      md_log "${APP_WAIT_END_BOUND} ${formatDuration(w.maxMs)} reached (could not observe traffic)"
      return 0
    fi
    md_new=
    if md_inbound; then md_last=$md_ms; md_new=1
    elif [ "$md_tw" -gt "$md_last" ]; then md_last=$md_tw; md_new=1
    fi
    if [ -n "$md_new" ]; then
      [ -n "$md_busy" ] || md_log "inbound traffic: $md_hit"
      md_busy=1
    elif [ -n "$md_busy" ]; then
      md_busy=; md_log "no inbound connection since $(((md_ms - md_last) / 1000)).$(((md_ms - md_last) % 1000 / 100))s"
    fi
    if [ "$((md_ms - md_last))" -ge ${w.quietMs} ]; then
      md_log "end: no inbound connection for ${formatDuration(w.quietMs)}: traffic has left the pod after $(((md_ms - md_t0) / 1000)).$(((md_ms - md_t0) % 1000 / 100))s"
      return 0
    fi
    if [ "$((md_ms - md_t0))" -ge ${w.maxMs} ]; then
      md_log "${APP_WAIT_END_BOUND} ${formatDuration(w.maxMs)} reached with inbound traffic still arriving ($md_hit)"
      return 0
    fi
    md_pause || return 0
  done
}
meshdrain_app_wait
`;
}

/** The app container's preStop exec.command for the wait, with its image's shell or a brought-in one. */
export function appWaitExecCommand(w: AppWaitSpec, shell: ShellSource = { kind: 'image' }): string[] {
  return shellExecCommand(embedded(renderAppWaitScript(w)), shell);
}

/** The embedded wait, then `exec` of a command once it has ended (the native drain after the app's wait). */
export function appWaitScriptThen(w: AppWaitSpec, then: readonly string[]): string {
  return `${embedded(renderAppWaitScript(w))}exec ${then.map(shQuote).join(' ')}\n`;
}
