/**
 * The proxy hold as POSIX sh. Generated text only; nothing here runs anything.
 *
 * The script needs nothing but a POSIX shell, its builtins and `sleep`: no netstat, ss, awk, grep,
 * curl or date (it uses curl/wget/date when present). Design notes: docs/adr/010-012, docs/hook.md.
 *
 * Exported API (used by inject, image, istio, lab): renderWaitFunction, renderHoldScript,
 * holdExecCommand; plus checkHold and shellInitCommand for planners. Timeout arithmetic: plan/budget.ts.
 */
import { InputError } from '../errors.js';
import { NATIVE_DRAIN_PRESTOP, ISTIO_PORTS, PROXY_UID } from '../istio/facts.js';
import { formatDuration } from '../model/duration.js';
import { MAX_HOLD_TIMEOUT_MS, MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '../plan/hold-settings.js';
import type { HoldSpec, ShellSource, WaitStrategy } from '../plan/types.js';
import { shQuote } from './quote.js';
import { hexPort, SH_LISTEN_PORTS, SH_LOOPBACK, SH_ROWS } from './proc-tcp.js';
import { pauseInit, renderClock, SH_CLOCK_INIT, SH_PAUSE } from './sh-log.js';
import { checkStrategy, formatStrategy, httpTarget } from './strategy.js';

/** Per-request limit for the http strategy's probe (curl --max-time / wget -T), seconds. */
export const HTTP_PROBE_SECONDS = 2;
/** Validate a HoldSpec from any source (CLI, policy, plan). Throws InputError; returns it unchanged. */
export function checkHold(hold: HoldSpec): HoldSpec {
  if (!hold || !Array.isArray(hold.strategies) || hold.strategies.length === 0) {
    throw new InputError('a hold needs at least one wait strategy (e.g. app-listeners)');
  }
  hold.strategies.forEach(checkStrategy);
  if (!Number.isSafeInteger(hold.timeoutMs) || hold.timeoutMs < 0 || hold.timeoutMs > MAX_HOLD_TIMEOUT_MS) {
    throw new InputError(`hold timeout: expected whole milliseconds between 0 and ${formatDuration(MAX_HOLD_TIMEOUT_MS)}, got ${String(hold.timeoutMs)}`);
  }
  if (!Number.isSafeInteger(hold.intervalMs) || hold.intervalMs < MIN_INTERVAL_MS || hold.intervalMs > MAX_INTERVAL_MS) {
    throw new InputError(`hold interval: expected whole milliseconds between ${MIN_INTERVAL_MS}ms and ${MAX_INTERVAL_MS / 1000}s, got ${String(hold.intervalMs)}`);
  }
  if (hold.lingerMs !== undefined && (!Number.isSafeInteger(hold.lingerMs) || hold.lingerMs < 0 || hold.lingerMs > 60_000)) {
    throw new InputError(`hold linger: expected whole milliseconds between 0 and 60s, got ${String(hold.lingerMs)}`);
  }
  return hold;
}

const hex = hexPort;
/** "0.2" for 200 ms: sleep(1) of GNU coreutils and busybox take fractions; whole seconds stay POSIX. */
const seconds = (ms: number): string => String(ms / 1000);

/** The sh fragments for one strategy: a matcher function (optional), its probe, and how to log it. */
interface Rendered {
  defs: string;
  /** Body of md_probe_N: exit status 0 = "still holding". */
  probe: string;
  /** Shell code run once before the first poll (client detection etc.). */
  setup: string;
  /** Why the first poll saw nothing (sh words, may use $md_proc_ok). */
  miss: string;
  /** Nothing at the first poll is normal (e.g. no outbound call yet): keep watching unless /proc is unreadable. */
  optional?: boolean;
}

const PROC_MISS = (what: string): string =>
  `if [ -z "$md_proc_ok" ]; then md_r='cannot read /proc/net/tcp or /proc/net/tcp6'; else md_r=${shQuote(what)}; fi`;

function renderStrategy(s: WaitStrategy, i: number): Rendered {
  switch (s.kind) {
    case 'app-connections':
      // A connection the app still works on: ESTABLISHED or SYN_SENT, owned by a UID other than the
      // proxy's, whose local port is not a listening port (not a client's connection the app's open
      // listener answers; app-listeners holds for those), and whose peer is not loopback (the pod's own
      // localhost traffic) except Envoy's inbound source 127.0.0.6 / ::6 (ADR 016): an inbound request
      // the app still answers after it closed its port must not lose its response to an early release.
      return {
        defs: `md_crow() {
  case $3 in 01|02) ;; *) return 1 ;; esac
  [ "$4" = ${PROXY_UID} ] && return 1
  case "$md_lports" in *" \${1##*:} "*) return 1 ;; esac
  case \${2%:*} in
    0600007F|0000000000000000FFFF00000600007F|00000000000000000000000006000000)
      md_hit="inbound request from istio-proxy still open on port $((0x\${1##*:})), owned by uid $4"; return 0 ;;
  esac
  md_loopback "\${2%:*}" && return 1
  md_hit="connection to port $((0x\${2##*:})) owned by uid $4"; return 0
}
md_connections() {
  md_listen_ports
  for md_file in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$md_file" ] && md_rows "$md_file" md_crow && return 0
  done
  return 1
}
`,
        probe: 'md_connections',
        setup: '',
        miss: PROC_MISS('no app connection'),
        optional: true,
      };
    case 'app-listeners':
      return {
        defs: `md_match_${i}() { case $1 in ${ISTIO_PORTS.map(hex).join('|')}) return 1 ;; esac; return 0; }\n`,
        probe: `md_scan md_match_${i} || md_scan md_match_${i}`,
        setup: '',
        miss: PROC_MISS('no LISTEN socket on a non-Istio port: the app never listened or already stopped'),
      };
    case 'ports':
      return {
        defs: `md_match_${i}() { case $1 in ${s.ports.map(hex).join('|')}) return 0 ;; esac; return 1; }\n`,
        probe: `md_scan md_match_${i} || md_scan md_match_${i}`,
        setup: '',
        miss: PROC_MISS(`port ${s.ports.join(', ')} not listening: the app never listened there or already stopped`),
      };
    case 'file':
      return { defs: '', probe: `[ -e ${shQuote(s.path)} ]`, setup: '', miss: `md_r=${shQuote(`${s.path} does not exist`)}` };
    case 'sleep':
      return { defs: '', probe: `[ "$((md_ms - md_t0))" -lt ${s.ms} ]`, setup: '', miss: `md_r='zero sleep'` };
    case 'http': {
      const url = shQuote(s.url);
      const t = httpTarget(s.url);
      // Without curl or wget there is no HTTP client in POSIX sh (dash and busybox have no /dev/tcp):
      // a loopback URL degrades to "its port still listens" from /proc; any other URL to a timed hold.
      const fallback = t.loopback ? `md_scan md_match_${i} || md_scan md_match_${i}` : `md_mode_${i}=timed`;
      const note = t.loopback
        ? `${formatStrategy(s)} falls back to "port ${t.port} still listens" (/proc/net/tcp*)`
        : `${formatStrategy(s)} falls back to a timed hold (not a loopback URL, cannot check its port)`;
      return {
        defs: t.loopback ? `md_match_${i}() { case $1 in ${hex(t.port)}) return 0 ;; esac; return 1; }\n` : '',
        probe: `case $md_http in
    curl) curl -gsf -o /dev/null --noproxy '*' --max-time ${HTTP_PROBE_SECONDS} ${url} >/dev/null 2>&1 ;;
    wget)
      wget -q -O /dev/null -T ${HTTP_PROBE_SECONDS} ${url} >/dev/null 2>&1; md_rc=$?
      if [ "$md_rc" -gt 128 ]; then
        # Some busybox builds crash in wget -T; without -T a hung server could outlast the timeout.
        md_http=none; md_log "wget crashed (status $md_rc): $md_http_note_${i}"; md_probe_${i}; return
      fi
      return "$md_rc" ;;
    *) ${fallback} ;;
  esac`,
        setup: `md_http_note_${i}=${shQuote(note)}`,
        miss: t.loopback
          ? `if [ "$md_http" != none ]; then md_r="$md_http: "${shQuote(`${s.url} did not answer 2xx/3xx`)}; elif [ -z "$md_proc_ok" ]; then md_r='no curl or wget, and cannot read /proc/net/tcp or /proc/net/tcp6'; else md_r=${shQuote(`no curl or wget, and port ${t.port} is not listening`)}; fi`
          : `md_r="$md_http: "${shQuote(`${s.url} did not answer 2xx/3xx`)}`,
      };
    }
  }
}

/** Does a hold script (meshdrain's, as rendered) ask pilot-agent to drain at its start? */
export const holdDrainsAtStart = (script: string): boolean => script.includes(`\n${DRAIN_AT_START_CALL}`);
/** The line of the wait loop that starts the drain after the first poll (rendered and recognised). */
const DRAIN_AT_START_CALL = '    [ -z "$md_first1" ] || md_drain_start\n';

/**
 * sh run once at the hold's start: pilot-agent's inbound drain, as Istio's native template does
 * (ADR 014). Keep-alive clients get Connection: close / GOAWAY and reconnect through their current
 * endpoint view; pilot-agent then exits at once on SIGTERM instead of waiting terminationDrainDuration.
 */
/**
 * The drain at start (ADR 016), run right after the hold's first look at the app (meshdrain_wait): the
 * first poll decides what the app still has (a port it closes a moment later must be seen, or the
 * strategy holds until the timeout: ADR 011), so no request to pilot-agent may delay it (ADR 018).
 */
const DRAIN_AT_START = `md_drain_start() {
  if command -v ${NATIVE_DRAIN_PRESTOP[0]} >/dev/null 2>&1; then
    if ${NATIVE_DRAIN_PRESTOP.join(' ')} >/dev/null 2>&1; then
      md_log "asked pilot-agent to drain inbound: keep-alive clients are told to go; it exits at SIGTERM without its drain wait"
    else
      md_log "${NATIVE_DRAIN_PRESTOP.join(' ')} failed: Istio's drain runs after the hold"
    fi
  else
    md_log "no ${NATIVE_DRAIN_PRESTOP[0]} on PATH: cannot drain at start; Istio's drain runs after the hold"
  fi
}
`;

/**
 * Shell function definitions: md_* helpers, meshdrain_poll (one poll: status 0 while anything holds)
 * and meshdrain_wait (the whole hold; always returns 0, and says why in the log).
 * Only `md_*` and `meshdrain_*` names are used, so the text can be embedded in another script.
 */
export function renderWaitFunction(hold: HoldSpec): string {
  checkHold(hold);
  const linger = hold.lingerMs ?? 0;
  const parts = hold.strategies.map((s, k) => renderStrategy(s, k + 1));
  const n = parts.length;
  const idx = [...Array(n).keys()].map((k) => k + 1);
  const names = hold.strategies.map(formatStrategy);
  const setups = parts.map((p) => p.setup).filter(Boolean);
  const needConns = hold.strategies.some((s) => s.kind === 'app-connections');
  const needScan = hold.strategies.some((s) => s.kind === 'app-listeners' || s.kind === 'ports' || (s.kind === 'http' && httpTarget(s.url).loopback));
  const httpIdx = idx.filter((i) => hold.strategies[i - 1]!.kind === 'http');
  const httpInit = httpIdx.length
    ? `  md_http=
  if command -v curl >/dev/null 2>&1; then md_http=curl
  elif command -v wget >/dev/null 2>&1; then md_http=wget
  else
    md_http=none
    ${httpIdx.map((i) => `md_log "no curl or wget: $md_http_note_${i}"`).join('\n    ')}
  fi
`
    : '';

  const probes = parts.map((p, k) => `md_probe_${k + 1}() {\n  ${p.probe}\n}\n`).join('');
  // Per strategy: mode watch (probe decides) or timed (cannot observe: hold until the timeout).
  const evals = idx
    .map((i) => {
      return `  md_hit=
  if [ "$md_mode_${i}" = timed ] || md_probe_${i}; then
    if [ "$md_mode_${i}" = timed ]; then md_held="$md_held $md_name_${i}(timed)"; else md_held="$md_held $md_name_${i}"; fi
    if [ -n "$md_first" ]; then
      [ "$md_mode_${i}" = timed ] || md_log "$md_name_${i}: holding\${md_hit:+ ($md_hit)}"
    elif [ "$md_was_${i}" = 0 ]; then
      md_log "$md_name_${i}: holding again\${md_hit:+ ($md_hit)}"
    fi
    md_was_${i}=1
  elif [ -n "$md_first" ]${parts[i - 1]!.optional ? ' && [ -n "$md_proc_ok" ]' : ''}; then
${
  parts[i - 1]!.optional
    ? `    md_log "$md_name_${i}: none at start; watching"`
    : `    md_mode_${i}=timed
    ${parts[i - 1]!.miss}
    md_log "$md_name_${i}: nothing to wait for at start ($md_r); holding until the timeout instead"
    md_held="$md_held $md_name_${i}(timed)"; md_was_${i}=1`
}
${
  parts[i - 1]!.optional
    ? `  elif [ -n "$md_first" ]; then
    md_mode_${i}=timed
    ${parts[i - 1]!.miss}
    md_log "$md_name_${i}: cannot watch ($md_r); holding until the timeout instead"
    md_held="$md_held $md_name_${i}(timed)"; md_was_${i}=1
`
    : ''
}  elif [ "$md_was_${i}" = 1 ]; then
    md_was_${i}=0
    md_log "$md_name_${i}: released"
  fi
`;
    })
    .join('');

  return `# --- meshdrain hold (generated; POSIX sh: builtins + sleep; date/curl/wget used when present) ---
${renderClock('meshdrain-hold')}${SH_PAUSE}${needConns ? SH_ROWS + SH_LOOPBACK + SH_LISTEN_PORTS : ''}${needScan ? `# md_scan MATCH: status 0 if a LISTEN socket in /proc/net/tcp or tcp6 has a port (hex) MATCH accepts.
# Probes call it twice before saying "none": a listener closing mid-read can make the kernel's
# iterator skip a neighbouring row, and a second read right away costs well under a millisecond.
# The kernel lists listening sockets first (then SYN_RECV/ESTABLISHED/TIME_WAIT...), so the scan stops
# at the first other row: cost grows with the listeners, not with the pod's 10,000 connections.
md_scan() {
  md_proc_ok=
  for md_file in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$md_file" ] || continue
    md_proc_ok=1
    { while read -r _ md_local _ md_st _; do
        case $md_st in
          0A) md_port=\${md_local##*:}; if "$1" "$md_port"; then md_hit="port $((0x$md_port)) listens"; return 0; fi ;;
          03|st) ;;
          *) break ;;
        esac
      done <"$md_file"; } 2>/dev/null
  done
  return 1
}
` : ''}${parts.map((p) => p.defs).join('')}${probes}# meshdrain_poll: one poll of every strategy; status 0 while any holds. Sets md_held.
meshdrain_poll() {
  md_held=
${evals}  md_first=
  [ -n "$md_held" ]
}
# meshdrain_init: state, log target, clock, HTTP client; logs the start.
meshdrain_init() {
  md_first=1; md_hit=; md_free=
  ${idx.map((i) => `md_mode_${i}=watch; md_was_${i}=0; md_name_${i}=${shQuote(names[i - 1] as string)}`).join('\n  ')}
  ${SH_CLOCK_INIT}
${setups.map((x) => `  ${x}\n`).join('')}  md_what=${shQuote(names.join(', '))}
  md_log "start: holding istio-proxy while: $md_what; timeout ${formatDuration(hold.timeoutMs)}, interval ${formatDuration(hold.intervalMs)}${linger ? `, release after ${formatDuration(linger)} with nothing held` : ''}; log to \${md_out:-stderr}"
${httpInit}  ${pauseInit(hold.intervalMs)}
}
${hold.drainAtStart ? DRAIN_AT_START : ''}
# meshdrain_wait: the whole hold. Always returns 0; the log says why it ended.
meshdrain_wait() {
  meshdrain_init
  while :; do
    md_now
${hold.drainAtStart ? '    md_first1=$md_first\n' : ''}    if meshdrain_poll; then
      md_free=
    else
      [ -n "$md_free" ] || md_free=$md_ms
    fi
${hold.drainAtStart ? DRAIN_AT_START_CALL : ''}    if [ -n "$md_free" ]; then
      if [ "$((md_ms - md_free))" -ge ${linger} ]; then
        md_log "end: nothing holds the proxy any more${linger ? ` (for ${formatDuration(linger)})` : ''}; releasing after $(((md_ms - md_t0) / 1000)).$(((md_ms - md_t0) % 1000 / 100))s"
        return 0
      fi
    fi
    if [ "$((md_ms - md_t0))" -ge ${hold.timeoutMs} ]; then
      md_log "end: timeout ${formatDuration(hold.timeoutMs)} reached while still held by:\${md_held:- nothing (lingering)}; releasing so Istio's drain ends before SIGKILL"
      return 0
    fi
    md_pause || { md_log "end: releasing now"; return 0; }
  done
}
`;
}

/** A complete script: functions plus the call. */
export function renderHoldScript(hold: HoldSpec): string {
  const body = renderWaitFunction(hold);
  const what = hold.strategies.map(formatStrategy).join(' ');
  return `#!/bin/sh\n# meshdrain hold for istio-proxy's preStop: ${what.replace(/[\r\n]/g, '')}\n${body}meshdrain_wait\n`;
}

const SAFE_DIR = /^\/[A-Za-z0-9._\/-]*[A-Za-z0-9._-]$/;

/** An image reference as it may appear in a manifest or a Dockerfile ARG: no spaces, quotes or newlines. */
export function checkImageRef(image: string, what: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._\/:@-]*$/.test(image)) {
    throw new InputError(`${what}: expected an image reference like busybox:1.37.0-musl, got ${JSON.stringify(image)}`);
  }
  return image;
}

function checkShell(shell: ShellSource): ShellSource {
  if (shell.kind === 'image') return shell;
  if (shell.kind !== 'init-container') throw new InputError(`unknown shell source ${JSON.stringify((shell as { kind?: unknown }).kind)}`);
  checkImageRef(shell.image, 'shell image');
  if (typeof shell.mountPath !== 'string' || !SAFE_DIR.test(shell.mountPath) || shell.mountPath.split('/').includes('..')) {
    throw new InputError(`shell mount path: expected an absolute directory of letters, digits and ._-/, got ${JSON.stringify(shell.mountPath)}`);
  }
  return shell;
}

/**
 * The istio-proxy preStop exec.command for a hold. With a shell brought in by an init container
 * (distroless proxy), `<mountPath>/sh` runs the script and `<mountPath>` goes first on PATH so
 * busybox's sleep/date/wget/cat are found (see shellInitCommand).
 */
export function holdExecCommand(hold: HoldSpec, shell: ShellSource = { kind: 'image' }): string[] {
  return shellExecCommand(embeddedHoldScript(hold), shell);
}

/** `sh -c SCRIPT` with the image's shell, or the one an init container brought (first on PATH). */
export function shellExecCommand(script: string, shell: ShellSource = { kind: 'image' }): string[] {
  checkShell(shell);
  if (shell.kind === 'image') return ['/bin/sh', '-c', script];
  const dir = shQuote(shell.mountPath);
  return [`${shell.mountPath}/sh`, '-c', `PATH=${dir}:$PATH; export PATH\n${script}`];
}

/**
 * The native-mode istio-proxy preStop (docs/adr/062-native-drain.md): Istio's inbound drain, started
 * `sleepSeconds` after termination begins instead of at once. Exec only, no curl: `pilot-agent
 * request` is in every proxyv2 image. With no delay it is Istio's own command and needs no shell.
 */
export function nativeDrainExecCommand(sleepSeconds: number, drain: readonly string[], shell: ShellSource = { kind: 'image' }): string[] {
  if (!Number.isInteger(sleepSeconds) || sleepSeconds < 0) throw new InputError(`native drain delay: expected whole seconds, got ${sleepSeconds}`);
  if (sleepSeconds === 0) return [...drain];
  const script = `#!/bin/sh\n# meshdrain native drain for istio-proxy's preStop: drain inbound ${sleepSeconds}s after termination starts\nsleep ${sleepSeconds}\nexec ${drain.map(shQuote).join(' ')}\n`;
  return shellExecCommand(script, shell);
}

/**
 * The script as it is embedded in a manifest: the explanatory comment lines are left to
 * `meshdrain hook` (a fifth of the text, repeated in every workload); the header lines stay. The
 * generator writes comments only as whole lines outside any quoted string, so this is line-exact.
 */
export function embeddedHoldScript(hold: HoldSpec): string {
  return embedded(renderHoldScript(hold));
}

/** A generated script without its whole-line comments (the first two header lines and shellcheck directives stay). */
export function embedded(script: string): string {
  const lines = script.split('\n');
  return [...lines.slice(0, 2), ...lines.slice(2).filter((l) => !/^\s*#/.test(l) || /^\s*# shellcheck /.test(l))].join('\n');
}

/**
 * Applets linked next to the copied busybox so the hold finds them on PATH. `cat` is what md_rows
 * slurps /proc/net/tcp with (hooks/proc-tcp.ts): without it busybox's `read` takes one byte per
 * read(2), and one poll of a draining pod's thousands of TIME_WAIT rows took seconds (8,000 rows:
 * 7.4-9.4 s against 0.34-0.38 s with `cat`), which held istio-proxy 13-16 s past the app's exit in
 * the lab (ADR 084 addendum).
 */
export const SHELL_APPLETS = Object.freeze(['sh', 'sleep', 'date', 'wget', 'cat']);
/** The applet lists earlier meshdrain versions linked (before `cat`): still recognised in a manifest, and updated by inject. */
export const EARLIER_SHELL_APPLETS: readonly (readonly string[])[] = Object.freeze([Object.freeze(['sh', 'sleep', 'date', 'wget'])]);

/**
 * The init container's command that brings a shell to a distroless istio-proxy: copy the image's
 * static busybox into the shared emptyDir and link the applets the hold uses. The image must ship a
 * statically linked /bin/busybox (e.g. busybox:1.37.0-musl). `applets`: an earlier version's list, to
 * recognise what it wrote (EARLIER_SHELL_APPLETS).
 */
export function shellInitCommand(shell: ShellSource & { kind: 'init-container' }, applets: readonly string[] = SHELL_APPLETS): string[] {
  checkShell(shell);
  const d = shQuote(shell.mountPath);
  const links = applets.map((a) => `ln -sf busybox ${d}/${a}`).join(' && ');
  return ['/bin/busybox', 'sh', '-c', `cp /bin/busybox ${d}/busybox && chmod 0555 ${d}/busybox && ${links}`];
}
