/**
 * The proxy hold as POSIX sh. Generated text only; nothing here runs anything.
 * FIRST VERSION (issue 2): app-listeners/ports/file/sleep via /proc and builtins. The hook issue (3)
 * owns this module and extends it; the exported API below is what inject, image, istio and lab use.
 */
import { ISTIO_PORTS } from '../istio/facts.js';
import type { HoldSpec, ShellSource } from '../plan/types.js';
import { shQuote } from './quote.js';

/** Shell function definitions: meshdrain_log and meshdrain_wait (returns when the hold is over). */
export function renderWaitFunction(hold: HoldSpec): string {
  const istio = ISTIO_PORTS.map((p) => p.toString(16).toUpperCase().padStart(4, '0')).join('|');
  const conds: string[] = [];
  for (const s of hold.strategies) {
    if (s.kind === 'app-listeners') conds.push('md_listening ""');
    if (s.kind === 'ports') conds.push(`md_listening ${shQuote(s.ports.map((p) => p.toString(16).toUpperCase().padStart(4, '0')).join(' '))}`);
    if (s.kind === 'file') conds.push(`[ -e ${shQuote(s.path)} ]`);
    if (s.kind === 'sleep') conds.push(`[ "$md_elapsed" -lt ${Math.ceil(s.ms)} ]`);
  }
  const anyHeld = conds.length ? conds.join(' || ') : 'false';
  return `md_log() { printf 'meshdrain-hold: %s\\n' "$*"; }
# md_listening WANTED: true while a LISTEN socket exists on a wanted port (hex, space separated),
# or on any non-Istio port when WANTED is empty.
md_listening() {
  for md_f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$md_f" ] || continue
    while read -r md_sl md_local md_rem md_st md_rest; do
      [ "$md_st" = 0A ] || continue
      md_port=\${md_local##*:}
      if [ -z "$1" ]; then
        case "$md_port" in ${istio}) ;; *) return 0 ;; esac
      else
        for md_w in $1; do [ "$md_port" = "$md_w" ] && return 0; done
      fi
    done < "$md_f"
  done
  return 1
}
meshdrain_wait() {
  md_elapsed=0
  md_log "start: timeout ${hold.timeoutMs}ms interval ${hold.intervalMs}ms"
  while { ${anyHeld}; }; do
    if [ "$md_elapsed" -ge ${hold.timeoutMs} ]; then md_log "timeout after \${md_elapsed}ms; releasing"; return 0; fi
    sleep ${(hold.intervalMs / 1000).toFixed(3)}
    md_elapsed=$((md_elapsed + ${hold.intervalMs}))
  done
  md_log "app gone after ~\${md_elapsed}ms; releasing"
}
`;
}

/** A complete script: functions plus the call. */
export function renderHoldScript(hold: HoldSpec): string {
  return `#!/bin/sh\n# meshdrain hold (generated)\n${renderWaitFunction(hold)}meshdrain_wait\n`;
}

/** The istio-proxy preStop exec.command for a hold. */
export function holdExecCommand(hold: HoldSpec, shell: ShellSource = { kind: 'image' }): string[] {
  const sh = shell.kind === 'image' ? '/bin/sh' : `${shell.mountPath}/sh`;
  return [sh, '-c', renderHoldScript(hold)];
}
