/**
 * sh fragments every generated wait shares: the log line (PID 1's stdout so `kubectl logs` shows
 * it, else stderr), a clock without `date` (/proc/uptime), and a pause that survives a `sleep`
 * without fractions or no `sleep` at all (ADR 011).
 */

/** md_log and md_now; `tag` starts each log line (e.g. meshdrain-hold). */
export function renderClock(tag: string): string {
  return `# Log where \`kubectl logs\` shows it: PID 1's stdout, else stderr.
md_log() {
  md_now
  md_e=$((md_ms - md_t0)); md_c=$(((md_e % 1000) / 10)); [ "$md_c" -lt 10 ] && md_c=0$md_c
  if [ -n "$md_date" ]; then md_ts=$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null); else md_ts="uptime=$((md_ms / 1000))s"; fi
  md_line="${tag} $md_ts +$((md_e / 1000)).\${md_c}s: $*"
  if [ -n "$md_out" ] && { printf '%s\\n' "$md_line" >>"$md_out"; } 2>/dev/null; then :; else printf '%s\\n' "$md_line" >&2; fi
}
# md_now: md_ms = milliseconds from /proc/uptime (no date needed); if unreadable, counted per poll.
md_now() {
  if [ "$md_clock" = uptime ] && { read -r md_up _ </proc/uptime; } 2>/dev/null; then
    md_s=\${md_up%%.*}; md_f=\${md_up#*.}; md_f=\${md_f%"\${md_f#??}"}; md_f=\${md_f#0}
    case "$md_s.\${md_f:-0}" in
      *[!0-9.]*|.*) ;;
      *) md_ms=$((md_s * 1000 + \${md_f:-0} * 10)); return 0 ;;
    esac
  fi
  if [ "$md_clock" = uptime ]; then md_clock=count; md_log "cannot read /proc/uptime: counting polls as time instead"; fi
}
`;
}

/** sh: state the clock and the log need (md_out from MESHDRAIN_HOLD_LOG or PID 1's stdout). */
export const SH_CLOCK_INIT = `md_clock=uptime; md_ms=0; md_t0=0
  md_out=\${MESHDRAIN_HOLD_LOG:-/proc/1/fd/1}
  { printf '' >>"$md_out"; } 2>/dev/null || md_out=
  md_date=; if command -v date >/dev/null 2>&1; then md_date=1; fi
  md_now; md_t0=$md_ms`;

/** sh: md_int / md_int_ms / md_nosleep for md_pause (call after SH_CLOCK_INIT). */
export function pauseInit(intervalMs: number): string {
  return `md_int=${intervalMs / 1000}; md_int_ms=${intervalMs}
  md_nosleep=; if ! command -v sleep >/dev/null 2>&1; then md_nosleep=1; md_log "no sleep command: polling without pause, timed by /proc/uptime"; fi`;
}

/** md_pause: wait one interval. Status 1 when it cannot wait at all (no sleep and no clock). */
export const SH_PAUSE = `md_pause() {
  if [ -n "$md_nosleep" ]; then
    [ "$md_clock" = uptime ] && return 0
    md_log "no sleep command and no clock: cannot wait"; return 1
  fi
  if ! sleep "$md_int" 2>/dev/null; then
    if [ "$md_int_ms" -lt 1000 ]; then md_log "sleep $md_int failed: polling every 1s"; md_int=1; md_int_ms=1000; return 0; fi
    md_nosleep=1; md_log "sleep failed: polling without pause"; return 0
  fi
  [ "$md_clock" = count ] && md_ms=$((md_ms + md_int_ms))
  return 0
}
`;
