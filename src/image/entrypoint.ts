/**
 * The image entrypoint: a POSIX sh wrapper that runs pilot-agent as a child and holds the first
 * SIGTERM with the shared wait logic (hooks/hold.ts) until the app is gone. Generated text only.
 * Why it is shaped like this: docs/adr/020-image-entrypoint-signals.md.
 */
import { renderWaitFunction } from '../hooks/hold.js';
import { shQuote } from '../hooks/quote.js';
import type { HoldSpec } from '../plan/types.js';

export type ImageVariant = 'default' | 'distroless';
export const IMAGE_VARIANTS: readonly ImageVariant[] = ['default', 'distroless'];

/** Where the original image keeps pilot-agent (istio/istio pilot/docker/Dockerfile.proxyv2). */
export const PILOT_AGENT_PATH = '/usr/local/bin/pilot-agent';
/** Where the generated image puts the entrypoint. */
export const ENTRYPOINT_PATH = '/usr/local/bin/meshdrain-entrypoint';
/** Where the distroless variant puts the static busybox its build stage copies in. */
export const DISTROLESS_BUSYBOX_PATH = '/usr/local/meshdrain/bin/busybox';

/**
 * Busybox applets the distroless entrypoint exposes as shell functions, so the wait logic (which may
 * call `sleep`, and perhaps an HTTP client) and the logger find them although the image has no
 * coreutils. Functions, not PATH entries: pilot-agent and Envoy keep the environment they had.
 */
const BUSYBOX_APPLETS = ['sleep', 'date', 'cat', 'nc', 'wget', 'head', 'grep', 'sed', 'awk', 'tr'] as const;

const SAFE_ABS_PATH = /^\/[A-Za-z0-9._\/-]+$/;

export interface EntrypointOptions {
  hold: HoldSpec;
  variant: ImageVariant;
  /** The program to start (tests point this at a fake). Default /usr/local/bin/pilot-agent. */
  agentPath?: string;
  /** Distroless: where the static busybox is (tests point this at the host's). */
  busyboxPath?: string;
  /** Header line: which meshdrain and Istio versions generated it. */
  generatedBy?: string;
  /** The wait logic's sh text (default renderWaitFunction(hold)); tests isolate the wrapper with it. */
  waitFunctions?: string;
}

/** The complete entrypoint script. */
export function renderEntrypoint(opts: EntrypointOptions): string {
  const agent = opts.agentPath ?? PILOT_AGENT_PATH;
  const busybox = opts.busyboxPath ?? DISTROLESS_BUSYBOX_PATH;
  for (const p of [agent, busybox]) {
    if (!SAFE_ABS_PATH.test(p)) throw new Error(`entrypoint paths must be absolute and plain, got ${JSON.stringify(p)}`);
  }
  const distroless = opts.variant === 'distroless';
  const shebang = distroless ? `#!${busybox} sh` : '#!/bin/sh';
  const busyboxFns = distroless
    ? `# Distroless: no coreutils in the image. The static busybox the build stage copied in provides them.
${BUSYBOX_APPLETS.map((a) => `${a}() { ${busybox} ${a} "$@"; }`).join('\n')}
`
    : '';
  return `${shebang}
# shellcheck shell=sh
# shellcheck disable=SC2317 # functions run from traps or by a name in a variable, which it cannot follow
# meshdrain image entrypoint${opts.generatedBy ? ` (${opts.generatedBy})` : ''}.
# Starts pilot-agent with this container's arguments as a child, forwards INT, HUP, QUIT, USR1 and
# USR2 at once, and holds the first SIGTERM until the application is gone (meshdrain_wait), then
# forwards it and exits with pilot-agent's status. If pilot-agent exits on its own, so does this.
${busyboxFns}
# ---- shared wait logic (meshdrain hooks/hold.ts) ----
${opts.waitFunctions ?? renderWaitFunction(opts.hold)}# ---- entrypoint ----
mde_agent=${shQuote(agent)}

mde_datefmt='+%Y-%m-%dT%H:%M:%SZ'
mde_log() {
  mde_now=$(date -u "$mde_datefmt" 2>/dev/null) || mde_now='-'
  printf '%s meshdrain-entrypoint: %s\\n' "$mde_now" "$*"
}

mde_child=      # pilot-agent's pid
mde_hold=       # the hold's background subshell pid
mde_term=0      # 1 once the first SIGTERM arrived
mde_trapped=    # set by every trap, so the wait loop can tell an interrupted wait from an exit

# Forward a signal to pilot-agent at once.
mde_forward() {
  mde_trapped=1
  if [ -z "$mde_child" ]; then
    mde_log "received SIG$1 before pilot-agent started; ignoring it"
    return 0
  fi
  mde_log "received SIG$1; forwarding it to pilot-agent (pid $mde_child)"
  kill -s "$1" "$mde_child" 2>/dev/null || mde_log "could not signal pilot-agent (pid $mde_child): already gone"
}

# The hold runs in a background subshell, so the main shell keeps waiting on pilot-agent and
# notices at once if it dies during the hold. The subshell forwards SIGTERM itself when it ends.
mde_start_hold() {
  (
    trap - TERM INT HUP QUIT USR1 USR2
    # The hold logs to this container's stdout (it would pick PID 1's, which is this script in the
    # image but not when run elsewhere); a value set in the container's env wins.
    MESHDRAIN_HOLD_LOG=\${MESHDRAIN_HOLD_LOG:-/dev/stdout}
    meshdrain_wait
    mde_log "hold over; forwarding SIGTERM to pilot-agent (pid $mde_child)"
    kill -s TERM "$mde_child" 2>/dev/null || mde_log "could not signal pilot-agent (pid $mde_child): already gone"
  ) &
  mde_hold=$!
}

mde_on_term() {
  mde_trapped=1
  if [ "$mde_term" = 1 ]; then
    mde_log "received SIGTERM again; the hold already started and is not restarted"
    return 0
  fi
  mde_term=1
  if [ -z "$mde_child" ]; then
    mde_log "received SIGTERM before pilot-agent started; holding once it runs"
    return 0
  fi
  mde_log "received SIGTERM; holding it until the application is gone"
  mde_start_hold
}

trap 'mde_on_term' TERM
trap 'mde_forward INT' INT
trap 'mde_forward HUP' HUP
trap 'mde_forward QUIT' QUIT
trap 'mde_forward USR1' USR1
trap 'mde_forward USR2' USR2

# Millisecond timestamps where date supports %N (GNU), whole seconds otherwise (busybox). Checked
# after the traps are set, so no signal finds the shell unprepared.
case $(date -u '+%S.%3N' 2>/dev/null) in
  [0-9][0-9].[0-9][0-9][0-9]) mde_datefmt='+%Y-%m-%dT%H:%M:%S.%3NZ' ;;
esac

# In bash this gives pilot-agent default INT/QUIT dispositions; dash and busybox keep them ignored
# in background jobs (POSIX), which pilot-agent (Go, signal.Notify) overrides for INT.
(trap - INT QUIT; exec "$mde_agent" "$@") &
mde_child=$!
mde_log "started pilot-agent (pid $mde_child): $mde_agent $*"
if [ "$mde_term" = 1 ]; then
  mde_log "holding the SIGTERM that arrived during start-up"
  mde_start_hold
fi

# A trapped signal interrupts wait (status > 128) while pilot-agent still runs: wait again until
# it is really gone. kill -0 tells a live (or not yet reaped) child from a reaped one.
mde_status=0
while :; do
  mde_trapped=
  wait "$mde_child"
  mde_status=$?
  [ -n "$mde_trapped" ] || break
  [ "$mde_status" -gt 128 ] || break
  kill -0 "$mde_child" 2>/dev/null && continue
  # Interrupted while pilot-agent exited: the shell still holds its status (dash keeps the job,
  # bash remembers it); 127 means the first wait already returned it.
  wait "$mde_child"
  mde_again=$?
  [ "$mde_again" = 127 ] || mde_status=$mde_again
  break
done

if [ -n "$mde_hold" ] && kill -0 "$mde_hold" 2>/dev/null; then
  kill "$mde_hold" 2>/dev/null
  mde_log "pilot-agent exited during the hold; hold abandoned"
fi
mde_log "pilot-agent exited with status $mde_status; exiting with it"
exit "$mde_status"
`;
}
