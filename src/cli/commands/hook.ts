import { Option, type Command } from 'commander';
import { InputError, UsageError } from '../../errors.js';
import { holdExecCommand, renderHoldScript } from '../../hooks/hold.js';
import { parseStrategy } from '../../hooks/strategy.js';
import { DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS } from '../../istio/facts.js';
import { formatDuration, parseDuration } from '../../model/duration.js';
import { GRACE_MARGIN_SECONDS, holdTimeoutMs } from '../../plan/budget.js';
import { DEFAULT_INTERVAL_MS, DEFAULT_SHELL_IMAGE } from '../../plan/plan.js';
import type { HoldSpec, ShellSource, WaitStrategy } from '../../plan/types.js';
import type { Ctx } from '../context.js';

interface HookFlags {
  waitFor?: string[];
  timeout?: string;
  grace: string;
  drain: string;
  interval?: string;
  format: 'sh' | 'exec-json';
  shellDir?: string;
}

const EXAMPLES = `
Strategies (repeat --wait-for to combine; the proxy is held while ANY of them holds):
  app-listeners                     a LISTEN socket on any port that is not Istio's own (default)
  ports=8080,9090                   these ports still listen
  http=http://127.0.0.1:8080/ready  the URL answers 2xx/3xx (curl, else wget, else "its port listens")
  file=/shared/busy                 the file exists (an app-owned marker in a shared emptyDir)
  sleep=10s                         a fixed minimum

The timeout defaults to --grace minus Istio's drain (--drain) minus a ${GRACE_MARGIN_SECONDS}s margin: 30s - 5s - 2s = 23s.
At the timeout the script exits 0 and logs why. Logs go to istio-proxy's PID 1 stdout (kubectl logs).

Examples:
  meshdrain hook                                        # the default hold as a POSIX sh script
  meshdrain hook --wait-for ports=8080 --grace 60s      # timeout 53s
  meshdrain hook --wait-for app-listeners --wait-for file=/drain/busy --format exec-json
  meshdrain hook --format exec-json --shell-dir /meshdrain-shell   # distroless proxy, busybox brought in
  meshdrain hook > hold.sh && shellcheck hold.sh`;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Build the HoldSpec from the flags; every value validated (InputError on anything odd). */
export function holdFromFlags(flags: HookFlags, warn: (msg: string) => void): { hold: HoldSpec; shell: ShellSource } {
  const strategies: WaitStrategy[] = (flags.waitFor?.length ? flags.waitFor : ['app-listeners']).map((t) => {
    try {
      return parseStrategy(t);
    } catch (e) {
      if (e instanceof InputError) throw new UsageError(`--wait-for: ${e.message}`);
      throw e;
    }
  });
  const graceMs = parseDuration(flags.grace, '--grace');
  const drainMs = parseDuration(flags.drain, '--drain');
  const intervalMs = flags.interval === undefined ? DEFAULT_INTERVAL_MS : parseDuration(flags.interval, '--interval');
  let timeoutMs: number;
  if (flags.timeout !== undefined) {
    timeoutMs = parseDuration(flags.timeout, '--timeout');
    if (timeoutMs + drainMs > graceMs) {
      warn(`--timeout ${formatDuration(timeoutMs)} + drain ${formatDuration(drainMs)} exceeds --grace ${formatDuration(graceMs)}: the kubelet may SIGKILL the proxy mid-hold`);
    }
  } else {
    const spare = graceMs - drainMs - GRACE_MARGIN_SECONDS * 1000;
    timeoutMs = holdTimeoutMs(graceMs / 1000, drainMs / 1000);
    if (spare < timeoutMs) {
      warn(`--grace ${formatDuration(graceMs)} leaves ${formatDuration(Math.max(0, spare))} after Istio's drain and the margin; holding at most ${formatDuration(timeoutMs)} anyway (raise the grace period)`);
    }
  }
  for (const s of strategies) {
    if (s.kind === 'sleep' && s.ms > timeoutMs) warn(`${`sleep=${formatDuration(s.ms)}`} is longer than the timeout ${formatDuration(timeoutMs)}: the timeout ends it`);
  }
  const shell: ShellSource = flags.shellDir === undefined ? { kind: 'image' } : { kind: 'init-container', image: DEFAULT_SHELL_IMAGE, mountPath: flags.shellDir };
  return { hold: { strategies, timeoutMs: Math.round(timeoutMs), intervalMs: Math.round(intervalMs) }, shell };
}

export function registerHook(program: Command, ctx: Ctx): void {
  program
    .command('hook')
    .summary("print istio-proxy's preStop hold: a POSIX sh script that waits for the app")
    .description(
      "Print the script istio-proxy runs as its preStop hook: it holds the proxy while the application still needs it (its listeners, ports, an HTTP URL, a marker file, a fixed time), then exits 0 so Istio drains. It needs only POSIX sh and /proc (no netstat, ss, curl or bash) and logs each decision to the container log.",
    )
    .option('-w, --wait-for <strategy>', 'what to wait for (repeatable): app-listeners | ports=P,.. | http=URL | file=/path | sleep=DUR (default app-listeners)', collect)
    .option('--timeout <duration>', 'give up (exit 0, logged) after this long (default: from --grace)')
    .option('--grace <duration>', "the pod's terminationGracePeriodSeconds, for the default timeout", `${DEFAULT_GRACE_SECONDS}s`)
    .option('--drain <duration>', "Istio's drain after the hold (terminationDrainDuration)", `${DEFAULT_TERMINATION_DRAIN_SECONDS}s`)
    .option('--interval <duration>', `time between polls (default ${formatDuration(DEFAULT_INTERVAL_MS)})`)
    .addOption(new Option('-f, --format <format>', 'sh: the script; exec-json: the preStop exec.command array').choices(['sh', 'exec-json']).default('sh'))
    .option('--shell-dir <dir>', 'run the script with <dir>/sh: a static busybox brought in by an init container (distroless proxy)')
    .addHelpText('after', EXAMPLES)
    .action((flags: HookFlags) => {
      const { hold, shell } = holdFromFlags(flags, (m) => ctx.io.stderr(`meshdrain: warning: ${m}\n`));
      if (flags.format === 'exec-json') {
        ctx.io.stdout(`${JSON.stringify(holdExecCommand(hold, shell))}\n`);
      } else {
        if (shell.kind !== 'image') throw new UsageError('--shell-dir only changes the exec command: use it with --format exec-json');
        ctx.io.stdout(renderHoldScript(hold));
      }
    });
}
