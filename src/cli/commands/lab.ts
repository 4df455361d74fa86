import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { EXIT, InputError } from '../../errors.js';
import { answerLine, runNotes, summarize, timelineSection, toHtml, toJson, toText, type ScenarioSummary } from '../../lab/report.js';
import { matrixHtml, matrixText, type MatrixResult } from '../../lab/matrix.js';
import { conditionKey, conditionLabel, progressLine, QUICK_AXES, type AppBehaviour } from '../../lab/sweep.js';
import type { ScenarioRun } from '../../lab/run.js';
import { CLIENT_RETRIES, DEFAULT_LAB_OPTIONS, LabAborted, preflight, runLab, type ClientRetries, type LabOptions } from '../../lab/run.js';
import { LAB_MAX_REPLICAS } from '../../lab/rollout.js';
import { removeStaleRuns, staleSweepLine } from '../../lab/stale.js';
import { DEFAULT_SCENARIOS, manifestScenarios, SCENARIO_NAMES, type ScenarioName } from '../../lab/scenarios.js';
import { PROXY_VARIANTS, type ProxyVariant } from '../../lab/pod-spec.js';
import type { LabProtocol } from '../../lab/agent/config.js';
import { formatDuration, parseDuration } from '../../model/duration.js';
import { readText, writeAtomic } from '../../io/files.js';
import { loadPolicyFile } from '../../policy/load.js';
import type { Ctx } from '../context.js';
import { addModeContextOptions, labModeContext, readMeshFiles, readMeshInputs, type MeshInput, type ModeFlags } from '../mode-context.js';
import { CATALOG } from './catalog.js';

interface LabFlags extends ModeFlags {
  scenario?: string[];
  replicas: string;
  /** --replicas was given on the command line (with --manifest it then wins over spec.replicas). */
  replicasTyped?: boolean;
  duration: string;
  /** Repeatable; a string when given once (or from tests). */
  propagationDelay: string | string[];
  load: 'builtin' | 'siege';
  concurrency: string;
  minRequests: string;
  grace: string;
  /** Absent: the policy's `lab.app.shutdown`, else the default (a flag wins over the policy). */
  appShutdown?: string;
  appClosesPort?: boolean;
  /** --app-calls-out / --no-app-calls-out; absent: the policy's lab.app.callsOut, else true. */
  appCallsOut?: boolean;
  envoyDrainsOutbound?: boolean;
  sleepHold: string;
  policy?: string;
  json?: boolean;
  report?: string;
  manifest?: string;
  workload?: string;
  proxyVariant?: ProxyVariant;
  appPrestopTime?: string;
  compareInject?: boolean;
  appMetricsPort?: string;
  protocol?: string[];
  clientRetries?: ClientRetries;
  clientProxies?: string;
  kubeProxyClients?: string;
  sweep?: boolean;
  quick?: boolean;
  /** --sweep-calls-out: the app's outbound calls after SIGTERM as a sweep axis (ADR 079). */
  sweepCallsOut?: boolean;
}

/** What --protocol accepts (ADR 074, 076). */
const PROTOCOLS = ['http1', 'http2', 'grpc', 'websocket'] as const satisfies readonly LabProtocol[];

const collect = (v: string, prev: string[] = []) => [...prev, v];

function intIn(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) throw new InputError(`--${what}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

/**
 * The policy's `lab.app` section: the real app's shutdown behaviour recorded once (values checked
 * with positions when the policy loaded). A flag given on the command line wins.
 */
function applyLabApp(o: LabOptions, f: LabFlags): void {
  const app = o.policy?.lab?.app;
  if (!app) return;
  if (f.appShutdown === undefined && app.shutdown !== undefined) o.appShutdownMs = parseDuration(app.shutdown);
  if (f.appClosesPort === undefined && app.closesPort !== undefined) o.appClosesPortOnSigterm = app.closesPort;
  if (f.appCallsOut === undefined && app.callsOut !== undefined) o.appCallsOut = app.callsOut;
  if (f.appMetricsPort === undefined && app.metricsPort !== undefined) o.appMetricsPort = app.metricsPort === 'none' ? null : app.metricsPort;
}

/** Flags → LabOptions; every bad value is one InputError naming the flag. meshInputs: the --mesh-config texts (default: read from cwd). */
export function labOptionsFrom(f: LabFlags, cwd: string, meshInputs?: readonly MeshInput[]): LabOptions {
  const scenarios = (f.scenario?.length ? f.scenario : [...DEFAULT_SCENARIOS]).flatMap((s) => {
    if (s === 'all') return [...SCENARIO_NAMES];
    if (!(SCENARIO_NAMES as readonly string[]).includes(s)) throw new InputError(`--scenario: unknown scenario ${JSON.stringify(s)} (one of ${SCENARIO_NAMES.join(', ')}, or all)`);
    return [s as ScenarioName];
  });
  const grace = parseDuration(f.grace, '--grace');
  if (grace < 1000 || grace % 1000 !== 0) throw new InputError(`--grace: terminationGracePeriodSeconds is whole seconds, at least 1s, got ${JSON.stringify(f.grace)}`);
  const sleepHold = parseDuration(f.sleepHold, '--sleep-hold');
  const given = typeof f.propagationDelay === 'string' ? [f.propagationDelay] : f.propagationDelay.length ? f.propagationDelay : [formatDuration(DEFAULT_LAB_OPTIONS.propagationDelayMs)];
  const delays = [...new Set(given.map((d) => parseDuration(d, '--propagation-delay')))];
  const o: LabOptions = {
    ...DEFAULT_LAB_OPTIONS,
    scenarios: [...new Set(scenarios)],
    replicas: intIn(f.replicas, 'replicas', 1, 20),
    concurrency: intIn(f.concurrency, 'concurrency', 1, 500),
    minRequests: intIn(f.minRequests, 'min-requests', 0, 100_000_000),
    durationMs: parseDuration(f.duration, '--duration'),
    propagationDelayMs: delays[0]!,
    ...(delays.length > 1 ? { propagationDelaysMs: delays } : {}),
    load: f.load,
    graceSeconds: grace / 1000,
    appShutdownMs: f.appShutdown !== undefined ? parseDuration(f.appShutdown, '--app-shutdown') : DEFAULT_LAB_OPTIONS.appShutdownMs,
    appClosesPortOnSigterm: f.appClosesPort === true,
    appCallsOut: f.appCallsOut ?? DEFAULT_LAB_OPTIONS.appCallsOut,
    envoyDrainDirectionAware: f.envoyDrainsOutbound !== true,
    clientRetries: f.clientRetries ?? DEFAULT_LAB_OPTIONS.clientRetries,
    sleepHoldSeconds: Math.ceil(sleepHold / 1000),
  };
  if (f.protocol?.length) {
    const ps = [...new Set(f.protocol)];
    for (const p of ps) {
      if (!(PROTOCOLS as readonly string[]).includes(p)) throw new InputError(`--protocol: unknown protocol ${JSON.stringify(p)} (one of ${PROTOCOLS.join(', ')})`);
    }
    o.protocols = ps as LabProtocol[];
    const own = ps.filter((p) => p === 'grpc' || p === 'websocket');
    // siege speaks HTTP/1.1 only; grpc and websocket need their own clients (grpc-js, ws).
    if (own.length && o.load === 'siege') throw new InputError(`--load siege with --protocol ${own[0]}: siege speaks HTTP/1.1 only; ${own[0]} uses the built-in ${own[0] === 'grpc' ? 'grpc-js' : 'ws'} client (--load builtin)`);
  }
  if (f.clientProxies !== undefined || f.kubeProxyClients !== undefined) {
    const mesh = f.clientProxies !== undefined ? intIn(f.clientProxies, 'client-proxies', 0, 16) : 1;
    const kube = f.kubeProxyClients !== undefined ? intIn(f.kubeProxyClients, 'kube-proxy-clients', 0, 16) : 0;
    if (mesh + kube === 0) throw new InputError('--client-proxies 0 and --kube-proxy-clients 0: the Service needs at least one client');
    if (mesh + kube > o.concurrency) throw new InputError(`--client-proxies + --kube-proxy-clients (${mesh + kube}) exceed --concurrency ${o.concurrency}: every client needs a connection`);
    o.clients = [...Array<'mesh'>(mesh).fill('mesh'), ...Array<'kube-proxy'>(kube).fill('kube-proxy')];
    // A kube-proxy path pins a connection to a pod; one grpc-js channel is one connection, so the
    // lab's gRPC client would be one pinned client, not a population of them: not modelled.
    if (kube && o.protocols?.includes('grpc')) throw new InputError('--kube-proxy-clients with --protocol grpc: the lab models gRPC clients behind a client-side proxy only (one grpc-js channel is one connection)');
  }
  if (f.appMetricsPort !== undefined) o.appMetricsPort = f.appMetricsPort.trim() === 'none' ? null : intIn(f.appMetricsPort, 'app-metrics-port', 1, 65535);
  if (f.policy) {
    o.policy = loadPolicyFile(f.policy, cwd);
    applyLabApp(o, f);
  }
  const manifestOnly = (['workload', 'proxyVariant', 'appPrestopTime', 'compareInject', 'istioVersion', 'kubeVersion', 'meshConfig'] as const).filter((k) => f[k] !== undefined);
  if (!f.manifest) {
    if (manifestOnly.length) throw new InputError(`--${manifestOnly[0]!.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} needs --manifest FILE`);
    return o;
  }
  if (f.scenario?.length) throw new InputError('--scenario and --manifest: pick one (--manifest runs your workload; --compare-inject adds it after meshdrain inject)');
  // Read as inject and lint read a manifest: the same words for a missing file, binary or oversize input.
  const text = readText(f.manifest, cwd);
  // What a manifest cannot tell, once for the run, parsed as inject and lint parse it (cli/mode-context.ts).
  const mode = labModeContext(f, meshInputs ?? readMeshFiles(f, cwd));
  const m = manifestScenarios(text, f.manifest, {
    ...(f.workload !== undefined ? { workload: f.workload } : {}),
    ...(f.replicasTyped ? { replicas: o.replicas } : {}),
    ...(f.proxyVariant !== undefined ? { proxyVariant: f.proxyVariant } : {}),
    ...(f.appPrestopTime !== undefined
      ? { appPrestopMs: parseDuration(f.appPrestopTime, '--app-prestop-time') }
      : o.policy?.lab?.app?.prestopTime !== undefined
        ? { appPrestopMs: parseDuration(o.policy.lab.app.prestopTime) }
        : {}),
    ...(o.policy ? { policy: o.policy } : {}),
    compareInject: f.compareInject === true,
    context: mode,
  });
  const { scenarios: list, ...rest } = m;
  o.scenarios = [];
  o.scenarioList = list;
  o.manifest = rest;
  return o;
}

export function registerLab(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('lab')
    .summary(CATALOG.lab.summary)
    .description('reproduce the Istio shutdown race on this machine (network namespaces, iptables, real processes) and compare hooks side by side')
    .option('--scenario <name>', `run this scenario (repeatable), or all: ${SCENARIO_NAMES.join(', ')} (default: ${DEFAULT_SCENARIOS.join(', ')})`, collect)
    .option('--replicas <n>', 'replicas of the Deployment that is rolled (with --manifest: in place of its spec.replicas)', String(DEFAULT_LAB_OPTIONS.replicas))
    .option('--duration <dur>', 'minimum load time per scenario (the load also lasts until every old pod is gone)', formatDuration(DEFAULT_LAB_OPTIONS.durationMs))
    .addOption(
      new Option('--propagation-delay <dur>', 'how long a terminating pod stays in the endpoints (kube-proxy / EDS lag); repeatable: every scenario runs at each value, one table')
        .argParser(collect)
        .default([] as string[], formatDuration(DEFAULT_LAB_OPTIONS.propagationDelayMs)),
    )
    .addOption(new Option('--load <kind>', 'load generator: built-in keep-alive clients, or Debian\'s siege').choices(['builtin', 'siege']).default('builtin'))
    .option('--concurrency <n>', 'concurrent keep-alive clients (siege -c)', String(DEFAULT_LAB_OPTIONS.concurrency))
    .option('--min-requests <n>', `keep each scenario under load until it has seen this many requests (at most ${formatDuration(DEFAULT_LAB_OPTIONS.maxExtraMs)} longer)`, String(DEFAULT_LAB_OPTIONS.minRequests))
    .option('--grace <dur>', "the Deployment's terminationGracePeriodSeconds (inject may raise it for meshdrain)", `${DEFAULT_LAB_OPTIONS.graceSeconds}s`)
    .option('--app-shutdown <dur>', `how long the app's shutdown work takes after SIGTERM, calling the external service meanwhile unless --no-app-calls-out (default: the policy's lab.app.shutdown, else ${formatDuration(DEFAULT_LAB_OPTIONS.appShutdownMs)})`)
    .option('--app-closes-port', 'the app stops accepting on its port at SIGTERM (server.close()) instead of serving until it exits')
    .option('--app-calls-out', "the app calls another service through istio-proxy during its shutdown work (the default; the policy's lab.app.callsOut)")
    .option('--no-app-calls-out', 'the app makes no outbound call after SIGTERM: its shutdown work stays inside the pod')
    .option('--envoy-drains-outbound', "model Envoy before 1.34, whose graceful inbound-only drain also drained outbound listeners (envoyproxy/envoy#35020, istio/istio#51855)")
    .option('--sleep-hold <dur>', 'the fixed preStop sleep of the sleep-hold scenario', `${DEFAULT_LAB_OPTIONS.sleepHoldSeconds}s`)
    .option('--policy <file>', "the policy inject uses for the *-meshdrain scenarios (default: the lab app's description, app: {shell: true}: its image has /bin/sh; a policy given here replaces it whole)")
    .option('--manifest <file>', "run your own workload's rolling restart (the pod template as it reaches the cluster: after Helm, kustomize or inject)")
    .option('--workload <Kind/name>', 'the workload in --manifest to roll, when it holds several')
    .addOption(new Option('--proxy-variant <variant>', "the proxyv2 image istio-proxy's hooks run with (default: from sidecar.istio.io/proxyImageType, as lint reads it)").choices([...PROXY_VARIANTS]))
    .option('--app-prestop-time <dur>', "stand in for an app container's preStop that runs the app image's own program (the lab cannot run it): a timed wait this long")
    .option('--compare-inject', 'also run --manifest after meshdrain inject, side by side; the exit status judges the injected row')
    .option('--app-metrics-port <port|none>', "the app's second port, kept open until it exits (default 9090; --manifest: its second containerPort); none: the app has one port")
    .option('--protocol <p>', `what the app's port speaks, repeatable (every scenario runs in each): ${PROTOCOLS.join(', ')} (default http1)`, collect)
    .addOption(new Option('--client-retries <policy>', "the client-side proxies' retries: Istio's default route retry policy (every sidecar and gateway has it when no VirtualService sets retries), or none; kube-proxy clients never retry").choices([...CLIENT_RETRIES]).default(DEFAULT_LAB_OPTIONS.clientRetries))
    .option('--client-proxies <n>', "client-side proxies with their own endpoint view; with several (or any kube-proxy client) istiod's removal reaches each, and the pod's own proxy, at its own time within the propagation delay (default 1)")
    .option('--kube-proxy-clients <n>', 'clients outside the mesh, through a kube-proxy-like path: each keep-alive connection stays on its pod until the server closes it (default 0)')
    .option('--sweep', 'run the matrix: scenarios × protocols × propagation delays × app behaviours (default delays 1s, 3s, 6s, 12s; both app behaviours); one table, --report writes the HTML matrix')
    .option('--quick', `a reduced sweep for CI (${QUICK_AXES.scenarios.join(', ')} at ${QUICK_AXES.propagationDelaysSeconds.join(', ')}s, http1): still shows the race, in about 1½ minutes`)
    .option('--sweep-calls-out', 'with --sweep: also run every entry with an app that makes no outbound call after SIGTERM, next to one that does (the app column says which)')
    .option('--json', 'print the results as JSON on stdout')
    .option('--report <file.html>', 'also write a self-contained HTML page with a timeline per scenario');
  addModeContextOptions(cmd)
    .addHelpText(
      'after',
      `
Needs root, ip (iproute2), iptables and setpriv; everything runs in network namespaces it creates
and removes (addresses from 198.18.0.0/15); nothing touches the host's network.
Exit status: 0 every scenario showed what it is expected to show, 1 one did not, 2 cannot run here,
130 stopped by SIGINT (Ctrl-C), 143 stopped by SIGTERM, after removing the run's namespaces,
processes and temp directory. A second signal during that cleanup is answered with one line and the
cleanup goes on; a third quits at once, and the next meshdrain lab removes what the run left.

Without --scenario it runs ${DEFAULT_SCENARIOS.join(', ')} (3 to 4 minutes);
--scenario all adds ${SCENARIO_NAMES.filter((n) => !DEFAULT_SCENARIOS.includes(n)).join(', ')}.

With --manifest it rolls your workload instead (its spec.replicas, or --replicas when given, capped
at ${LAB_MAX_REPLICAS}) and prints one line first:
exit 0 nothing failed, 1 a request or an outbound call failed or a pod was SIGKILLed (each with
its phase and cause), 2 the manifest cannot be run as written (one line naming file:line:col).
--istio-version, --kube-version and --mesh-config decide its data-plane mode (classic, native,
ambient, not meshed) as they do for inject and lint; --compare-inject runs inject with them.

Examples:
  sudo npx meshdrain lab                                  # the built-in comparison (3-4 minutes)
  sudo npx meshdrain lab --manifest deploy.yaml --compare-inject
  sudo npx meshdrain lab --manifest deploy.yaml --compare-inject --kube-version 1.33 --istio-version 1.27
  sudo npx meshdrain lab --manifest app.yaml --workload Deployment/web --proxy-variant distroless --app-prestop-time 10s
  sudo npx meshdrain lab --scenario all --app-closes-port --propagation-delay 3s
  sudo npx meshdrain lab --scenario no-hold --scenario meshdrain --report lab.html
  sudo npx meshdrain lab --load siege --propagation-delay 8s --json > lab.json`,
    )
    .action(async (flags: LabFlags) => {
      // With --manifest the manifest's spec.replicas rolls, unless --replicas was typed: then the flag
      // wins, in place of spec.replicas (its rollout percentages resolve against it; ADR 094 addendum).
      flags.replicasTyped = cmd.getOptionValueSource('replicas') === 'cli';
      const o = labOptionsFrom(flags, ctx.io.cwd, flags.manifest ? await readMeshInputs(flags, ctx.io) : undefined);
      let reportPath: string | undefined;
      if (flags.report) {
        reportPath = resolve(ctx.io.cwd, flags.report);
        const dir = dirname(reportPath);
        if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`--report: directory ${dirname(flags.report)} does not exist`, { file: flags.report });
      }
      const sweep = flags.sweep === true || flags.quick === true;
      if (sweep && o.manifest) throw new InputError('--sweep/--quick and --manifest: pick one');
      if (flags.sweepCallsOut && !flags.sweep) throw new InputError('--sweep-calls-out needs --sweep');
      if (flags.sweepCallsOut && flags.appCallsOut !== undefined) throw new InputError(`--sweep-calls-out runs the app both ways; drop ${flags.appCallsOut ? '--app-calls-out' : '--no-app-calls-out'}`);
      // The calls-out axis (ADR 079): both values, each marked in the cell; without it one unmarked value.
      const callsOutAxis: (boolean | undefined)[] = flags.sweepCallsOut ? [true, false] : [undefined];
      if (flags.quick) {
        o.scenarios = [...QUICK_AXES.scenarios] as ScenarioName[];
        o.propagationDelaysMs = QUICK_AXES.propagationDelaysSeconds.map((s) => s * 1000);
        o.propagationDelayMs = o.propagationDelaysMs[0]!;
        o.minRequests = 0;
      } else if (flags.sweep && !(Array.isArray(flags.propagationDelay) && flags.propagationDelay.length)) {
        o.propagationDelaysMs = [1000, 3000, 6000, 12_000];
        o.propagationDelayMs = 1000;
      }
      const apps: AppBehaviour[] = flags.quick ? [...QUICK_AXES.apps] : flags.sweep ? (flags.appClosesPort ? ['closes-port'] : ['serves-until-exit', 'closes-port']) : [o.appClosesPortOnSigterm ? 'closes-port' : 'serves-until-exit'];
      await preflight(o);
      // What dead lab runs left (a lab killed mid-teardown), before this run adds its own.
      const stale = staleSweepLine(await removeStaleRuns());
      if (stale) ctx.io.stderr(`meshdrain lab: ${stale}\n`);
      const ac = new AbortController();
      // The first SIGINT/SIGTERM stops the run and cleans up; the second says the cleanup goes on
      // (an impatient Ctrl-C Ctrl-C killed the process mid-teardown: qa7 F10); a third gives the
      // signal its default action at once and leaves the rest to the next run's sweep above.
      let first: NodeJS.Signals | undefined;
      let signals = 0;
      let prefix = '';
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          first = sig;
          ctx.io.stderr(`meshdrain lab: ${sig}: stopping and cleaning up...\n`);
          ac.abort();
        } else if (signals === 2) {
          ctx.io.stderr(`meshdrain lab: ${sig}: still cleaning up (the run's namespaces and temp directory); once more quits at once and leaves them to the next meshdrain lab\n`);
        } else {
          ctx.io.stderr(`meshdrain lab: ${sig}: quitting without cleaning up; the next meshdrain lab removes what ${prefix || 'this run'} left (docs/lab.md, "Leftovers")\n`);
          process.removeListener('SIGINT', onSignal);
          process.removeListener('SIGTERM', onSignal);
          process.kill(process.pid, sig);
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      o.onPrefix = (p) => {
        prefix = p;
      };
      let runs;
      try {
        // On a terminal the periodic status line updates in place; in a log every line stays.
        const tty = ctx.io.isStderrTTY === true;
        let open = false;
        const progress = (l: string, transient?: boolean) => {
          if (tty && transient) {
            ctx.io.stderr(`\r\x1b[2Kmeshdrain lab: ${l}`);
            open = true;
            return;
          }
          ctx.io.stderr(`${open ? '\r\x1b[2K' : ''}meshdrain lab: ${l}\n`);
          open = false;
        };
        if (!sweep) runs = await runLab({ ...o, signal: ac.signal, progress });
        else {
          // One lab run per app behaviour; each runs scenarios × protocols × delays. The progress line
          // gives the time left at the pace so far.
          const total = apps.length * callsOutAxis.length * o.scenarios.length * (o.protocols?.length || 1) * (o.propagationDelaysMs?.length || 1);
          const t0 = Date.now();
          let done = 0;
          runs = [];
          for (const app of apps) for (const callsOut of callsOutAxis) {
            const oa: LabOptions = { ...o, appClosesPortOnSigterm: app === 'closes-port', ...(callsOut === undefined ? {} : { appCallsOut: callsOut }), signal: ac.signal };
            oa.progress = (l, transient) => {
              if (/\] done: /.test(l)) {
                done++;
                progress(`${l}; ${progressLine(done, total, Date.now() - t0, 75_000)}`);
                return;
              }
              progress(l, transient);
            };
            for (const r of await runLab(oa)) runs.push(Object.assign(r, { appClosesPort: app === 'closes-port', callsOutAxis: callsOut }));
          }
        }
      } catch (e) {
        if (e instanceof LabAborted) {
          ctx.io.stderr(`meshdrain lab: ${e.message}\n`);
          ctx.setExit(first === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
          return;
        }
        throw e;
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
      const sums = runs.map((r) => {
        const x = r as SweepRun;
        return summarize(r, { ...o, appClosesPortOnSigterm: x.appClosesPort ?? o.appClosesPortOnSigterm, appCallsOut: x.callsOutAxis ?? o.appCallsOut });
      });
      if (sweep) {
        const cells = sweepCells(sums, runs);
        ctx.io.stdout(flags.json ? JSON.stringify(toJson(sums, o), null, 2) + '\n' : matrixText(cells.map((c) => c.result)) + '\n' + sums.map((s, i) => `${s.name} (${s.protocol}, ${s.propagationDelaySeconds}s, ${s.app.closesPort ? 'closes-port' : 'serves-until-exit'}${(runs[i] as SweepRun).callsOutAxis === undefined ? '' : s.app.callsOut ? ', calls out' : ', no calls out'}): ${s.verdict}`).join('\n') + '\n');
        if (reportPath) {
          const timelines = new Map(cells.map((c) => [c.result.entry.id, c.section]));
          const subtitle = `${o.replicas} replicas, ${o.load} load with ${o.concurrency} clients, grace ${o.graceSeconds}s, app shutdown work ${o.appShutdownMs / 1000}s`;
          writeAtomic(reportPath, matrixHtml(cells.map((c) => c.result), { title: 'meshdrain lab sweep', subtitle, timelines }), ctx.io.cwd);
          ctx.io.stderr(`meshdrain lab: wrote ${flags.report}\n`);
        }
        if (sums.some((s) => !s.reproduced)) ctx.setExit(EXIT.findings);
        return;
      }
      if (o.manifest) {
        // The one line first (on stderr with --json, so stdout stays one JSON document).
        const judged = sums.find((s) => s.name === o.manifest!.judged);
        const lines = sums.map((s) => `${sums.length > 1 ? `[${s.name}] ` : ''}${answerLine(s)}`);
        if (flags.json) {
          // stderr is for notes: those that change what a verdict means go there too, not only into the JSON.
          const notes = [...new Set(sums.flatMap((s) => runNotes(s).map((n) => `${sums.length > 1 ? `[${s.name}] ` : ''}note: ${n}`)))];
          ctx.io.stderr([...lines, ...notes].map((l) => `meshdrain lab: ${l}\n`).join(''));
        }
        ctx.io.stdout(flags.json ? JSON.stringify(toJson(sums, o), null, 2) + '\n' : lines.join('\n') + '\n\n' + toText(sums, o));
        if (reportPath) {
          writeAtomic(reportPath, toHtml(sums, runs, o), ctx.io.cwd);
          ctx.io.stderr(`meshdrain lab: wrote ${flags.report}\n`);
        }
        if (!judged?.reproduced) ctx.setExit(EXIT.findings);
        return;
      }
      ctx.io.stdout(flags.json ? JSON.stringify(toJson(sums, o), null, 2) + '\n' : toText(sums, o));
      if (reportPath) {
        writeAtomic(reportPath, toHtml(sums, runs, o), ctx.io.cwd);
        ctx.io.stderr(`meshdrain lab: wrote ${flags.report}\n`);
      }
      if (sums.some((s) => !s.reproduced)) ctx.setExit(EXIT.findings);
    });
}

/** A run of a sweep, with the app behaviour and the calls-out value (when that is an axis) it ran with. */
type SweepRun = ScenarioRun & { appClosesPort?: boolean; callsOutAxis?: boolean };

/** Each run of a sweep as a matrix cell, with its timeline section. */
function sweepCells(sums: ScenarioSummary[], runs: ScenarioRun[]): { result: MatrixResult; section: string }[] {
  return sums.map((s, i) => {
    const callsOut = (runs[i] as SweepRun).callsOutAxis;
    const condition = {
      protocol: s.protocol as MatrixResult['entry']['condition']['protocol'],
      propagationDelaySeconds: s.propagationDelaySeconds,
      app: (s.app.closesPort ? 'closes-port' : 'serves-until-exit') as AppBehaviour,
      ...(callsOut === undefined ? {} : { callsOut }),
    };
    const entry = { id: `${s.name}--${conditionKey(condition)}`, scenario: s.name, condition };
    const result: MatrixResult = { entry, requests: s.requests, failedRequests: s.failedRequests, egressCalls: s.egressCalls, failedEgress: s.failedEgress, podsKilled: s.podsKilled, podsTerminated: s.podsTerminated };
    return { result, section: timelineSection(entry.id, `${s.name} · ${conditionLabel(condition)}`, s, runs[i]!) };
  });
}
