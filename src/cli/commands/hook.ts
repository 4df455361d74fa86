import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { holdExecCommand, renderHoldScript } from '../../hooks/hold.js';
import { DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS } from '../../istio/facts.js';
import { formatDuration } from '../../model/duration.js';
import { GRACE_MARGIN_SECONDS, holdTimeoutMs } from '../../plan/budget.js';
import { defaultHoldTimeoutMs } from '../../istio/holds.js';
import { DEFAULT_HOLD_LINGER_MS, DEFAULT_INTERVAL_MS, DEFAULT_WAIT_FOR } from '../../constants.js';
import { holdFromFlags, type HoldFlags } from '../../hooks/flags.js';
import type { Ctx } from '../context.js';
import { CATALOG } from './catalog.js';

interface HookFlags extends HoldFlags {
  format: 'sh' | 'exec-json';
}

const EXAMPLES = `
Strategies (repeat --wait-for to combine; the proxy is held while ANY of them holds):
  app-listeners                     a LISTEN socket on any port that is not Istio's own
  app-connections                   a connection the app (any UID but 1337) owns: its outbound calls,
                                    an inbound request from Envoy it still answers after closing its port
  ports=8080,9090                   these ports still listen
  http=http://127.0.0.1:8080/ready  the URL answers 2xx/3xx (curl, else wget, else "its port listens")
  file=/shared/busy                 the file exists (an app-owned marker in a shared emptyDir)
  sleep=10s                         a fixed minimum

The default is the hold inject writes: ${DEFAULT_WAIT_FOR.join(' + ')}, released after ${formatDuration(DEFAULT_HOLD_LINGER_MS)} with nothing
held; it asks pilot-agent to drain inbound at the start, so pilot-agent exits at once after it (ADR 016).
A hold that names no app-connections neither lingers nor drains at the start. The timeout defaults to --grace minus a
${GRACE_MARGIN_SECONDS}s margin, minus Istio's drain (--drain) only for a hold that does not drain at its start: ${formatDuration(defaultHoldTimeoutMs())} for the
default hold and ${DEFAULT_GRACE_SECONDS}s, ${formatDuration(holdTimeoutMs(DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS))} for --wait-for ports=8080 (ADR 086).
At the timeout the script exits 0 and logs why. Logs go to istio-proxy's PID 1 stdout (kubectl logs).

Examples:
  meshdrain hook                                        # the default hold as a POSIX sh script
  meshdrain hook --wait-for ports=8080 --grace 60s      # timeout ${formatDuration(holdTimeoutMs(60, DEFAULT_TERMINATION_DRAIN_SECONDS))}
  meshdrain hook --wait-for app-listeners --wait-for file=/drain/busy --format exec-json
  meshdrain hook --format exec-json --shell-dir /meshdrain-shell   # distroless proxy, busybox brought in
  meshdrain hook > hold.sh && shellcheck hold.sh`;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerHook(program: Command, ctx: Ctx): void {
  program
    .command('hook')
    .summary(CATALOG.hook.summary)
    .description(
      "Print the script istio-proxy runs as its preStop hook: it holds the proxy while the application still needs it (its listeners, ports, an HTTP URL, a marker file, a fixed time), then exits 0 so Istio drains. By default it holds while the app listens or owns a connection, the hold inject writes. It needs only POSIX sh and /proc (no netstat, ss, curl or bash) and logs each decision to the container log.",
    )
    .option('-w, --wait-for <strategy>', `what to wait for (repeatable): app-listeners | app-connections | ports=P,.. | http=URL | file=/path | sleep=DUR (default ${DEFAULT_WAIT_FOR.join(' + ')})`, collect)
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
