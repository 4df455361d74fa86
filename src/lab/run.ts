/**
 * One lab run: set up the network and the shared services, run each scenario's rolling restart
 * under load, and always clean up (also on abort and on errors).
 */
import { basename, dirname } from 'node:path';
import { InputError } from '../errors.js';
import { AgentChannel, type AgentEvent } from './control.js';
import { execCmd, labEnv } from './exec.js';
import { compiledAgentDir, installLabFiles, nodeUsableByOthers, type LabFiles } from './files.js';
import { ISTIO_DEFAULT_RETRY, ZTUNNEL_INBOUND_PLAINTEXT_PORT, ZTUNNEL_OUTBOUND_PORT } from '../istio/facts.js';
import type { BalancerConfig, ExternalConfig, LabClientKind, LabProtocol, Probe, ZtunnelConfig } from './agent/config.js';
import { LabEnvError } from './errors.js';
import { EXTERNAL_PORT, Kubelet, type LabPod, type ZtunnelClient } from './kubelet.js';
import { BALANCER_PORT, startBuiltinLoad, startSiege, type LoadResult, type LoadRun } from './load.js';
import { LabNet, newRunPrefix, PROBE_SOURCE_IP } from './netns.js';
import { ProcTable } from './procs.js';
import { buildHookRoot, execsPilotAgent, type HookRoot } from './hook-root.js';
import type { ProxyVariant } from './pod-spec.js';
import { builtinRollout, rolloutWaves, type RolloutShape } from './rollout.js';
import { buildScenario, APP_PORT, APP_UID, type ManifestRun, type Scenario, type ScenarioName, type ScenarioParams } from './scenarios.js';

export interface LabOptions {
  scenarios: ScenarioName[];
  replicas: number;
  /** Minimum load time per scenario; the load also lasts until the rollout and terminations end. */
  durationMs: number;
  /** Keep the load going (at most maxExtraMs longer) until the scenario has seen this many requests. */
  minRequests: number;
  /** Only these scenarios wait for minRequests (default: every scenario). */
  minRequestsFor?: string[];
  /** Scenarios built by the caller (--manifest); when set, `scenarios` is not read. */
  scenarioList?: Scenario[];
  /** --manifest: the workload, the row the exit code judges, and what inject would change. */
  manifest?: Omit<ManifestRun, 'scenarios'>;
  /** The app's second port (metrics): a port, null for none; undefined: the pod's own (9090 built in). */
  appMetricsPort?: number | null;
  maxExtraMs: number;
  propagationDelayMs: number;
  /** The Service's clients, each with its own endpoint view (ADR 075); default one client-side proxy. */
  clients?: LabClientKind[];
  /**
   * The mesh clients' retry policy (ADR 077): `istio-default`, Istio's default route retries
   * (src/istio/facts.ts ISTIO_DEFAULT_RETRY) that every client-side proxy and gateway applies; `none`:
   * no retries. kube-proxy clients never retry.
   */
  clientRetries: ClientRetries;
  /** What the app speaks (repeatable --protocol): every scenario runs in each; default http1 only. */
  protocols?: LabProtocol[];
  /** Several propagation delays (repeatable --propagation-delay): every scenario runs at each, in order. */
  propagationDelaysMs?: number[];
  load: 'builtin' | 'siege';
  concurrency: number;
  graceSeconds: number;
  appShutdownMs: number;
  appClosesPortOnSigterm: boolean;
  /** The app calls the external service during its shutdown work (ADR 079); false: it works without calling out. */
  appCallsOut: boolean;
  sleepHoldSeconds: number;
  warmupMs: number;
  settleMs: number;
  egressIntervalMs: number;
  /** Envoy 1.34+: an inbound-only drain leaves outbound alone (false: older Envoy, envoyproxy/envoy#35020). */
  envoyDrainDirectionAware: boolean;
  policy?: ScenarioParams['policy'];
  /** Progress for stderr. */
  /** A progress line; `transient` ones (the periodic status) may be overwritten in place on a terminal. */
  progress?: (line: string, transient?: boolean) => void;
  signal?: AbortSignal;
  /** Called with the run prefix as soon as it is known (tests check cleanup by it). */
  onPrefix?: (prefix: string) => void;
}

export const DEFAULT_LAB_OPTIONS: Omit<LabOptions, 'scenarios'> = {
  replicas: 3,
  durationMs: 10_000,
  minRequests: 20_000,
  maxExtraMs: 60_000,
  propagationDelayMs: 6_000,
  load: 'builtin',
  concurrency: 25,
  graceSeconds: 20,
  appShutdownMs: 8_000,
  appClosesPortOnSigterm: false,
  appCallsOut: true,
  sleepHoldSeconds: 10,
  warmupMs: 1_500,
  settleMs: 1_000,
  egressIntervalMs: 100,
  envoyDrainDirectionAware: true,
  clientRetries: 'istio-default',
};

/** What --client-retries accepts. */
export const CLIENT_RETRIES = ['istio-default', 'none'] as const;
export type ClientRetries = (typeof CLIENT_RETRIES)[number];

export interface BalancerStats {
  requests: number;
  failed: number;
  /** Mesh clients' retries (ADR 077): retried attempts by reason, requests retried, and those that then succeeded. */
  retries?: Record<string, number>;
  retriedRequests?: number;
  recoveredRequests?: number;
  reasons: Record<string, number>;
  buckets: Record<string, [number, number]>;
  failures: { t: number; reason: string; pod: string }[];
}

/** Everything measured in one scenario; report.ts turns it into figures. */
export interface ScenarioRun {
  scenario: Scenario;
  startedAt: number;
  rolloutStartedAt: number;
  rolloutDoneAt: number;
  endedAt: number;
  /** Old pods terminated by the rollout (their shutdown is what the lab measures). */
  terminated: LabPod[];
  /** New pods created by the rollout. */
  created: LabPod[];
  load: LoadResult;
  balancer: BalancerStats;
  bucketMs: number;
  propagationDelayMs: number;
  /** What the app spoke in this run (absent: http1). */
  protocol?: LabProtocol;
}

const BUCKET_MS = 250;

/** Refuse early and clearly when the lab cannot run here (exit 2, one line). */
export async function preflight(o: Pick<LabOptions, 'load' | 'scenarios'>, path = labEnv().PATH ?? ''): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new InputError('meshdrain lab needs root (network namespaces and iptables); run it with sudo or in a privileged container');
  }
  const need = ['ip', 'iptables', 'iptables-restore', 'setpriv', 'unshare', 'chroot'];
  if (o.load === 'siege') need.push('siege');
  if (o.scenarios.includes('netstat-loop')) need.push('netstat');
  const missing: string[] = [];
  for (const tool of need) {
    const r = await execCmd(['/bin/sh', '-c', 'PATH=$2; command -v "$1"', 'sh', tool, path]).catch(() => ({ code: 1 }));
    if (r.code !== 0) missing.push(tool);
  }
  if (missing.length) {
    throw new InputError(`meshdrain lab needs ${missing.join(', ')} on PATH (Debian: apt-get install iproute2 iptables util-linux${missing.includes('siege') ? ' siege' : ''}${missing.includes('netstat') ? ' net-tools' : ''})`);
  }
  if (!nodeUsableByOthers()) {
    throw new InputError(`meshdrain lab runs the pod's processes as UID 1337 and ${APP_UID}, which cannot execute ${process.execPath}; use a node installed for all users (e.g. /usr/bin/node)`);
  }
  compiledAgentDir();
}

class Balancer {
  readonly ch = new AgentChannel('balancer-ready');
  async setEndpoints(pods: LabPod[], client?: number): Promise<void> {
    await this.ch.request({ op: 'set', ...(client !== undefined ? { client } : {}), endpoints: pods.map((p) => ({ pod: p.name, ip: p.ip, ...(p.appPort !== APP_PORT ? { port: p.appPort } : {}), ...(p.protocol === 'http2' || p.protocol === 'grpc' ? { h2: true } : {}) })) });
  }
  async probe(ip: string, probes: readonly Probe[]): Promise<boolean> {
    const e = await this.ch.request({ op: 'probe', ip, probes });
    return e.ok === true;
  }
  async count(): Promise<number> {
    const e = await this.ch.request({ op: 'count' });
    return Number(e.requests);
  }
  async stats(reset: boolean): Promise<BalancerStats> {
    const e: AgentEvent = await this.ch.request({ op: 'stats', reset });
    return e.stats as BalancerStats;
  }
}

/** Run the lab; resolves with one ScenarioRun per scenario. Cleans up in every case. */
export async function runLab(o: LabOptions): Promise<ScenarioRun[]> {
  const progress = o.progress ?? (() => undefined);
  const prefix = newRunPrefix();
  o.onPrefix?.(prefix);
  const net = new LabNet(prefix);
  const procs = new ProcTable();
  let files: LabFiles | undefined;
  // An abort kills the run's processes at once, so every step waiting on one fails fast; the
  // namespaces and the temp directory go in the finally below, once no step is still under way (an
  // abort during the hook root's copy removed the directory while the copy went on writing into it:
  // root-default was left behind, qa7 F11).
  const onAbort = () => void procs.killAll();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const checkAbort = () => {
    if (o.signal?.aborted) throw new LabAborted();
  };
  try {
    const scenarios = (o.scenarioList ?? o.scenarios.map((name) => buildScenario(name, { graceSeconds: o.graceSeconds, sleepHoldSeconds: o.sleepHoldSeconds, policy: o.policy, appCallsOut: o.appCallsOut !== false }))).map((sc) =>
      o.appMetricsPort === undefined ? sc : { ...sc, spec: { ...sc.spec, metricsPort: o.appMetricsPort } },
    );
    files = installLabFiles(prefix);
    // istio-proxy's exec hooks run with only the proxy image's tools (ADR 071), plus what the pod's init
    // containers leave on the emptyDirs istio-proxy mounts (ADR 085): one root per variant and such dirs.
    const roots = new Map<string, HookRoot>();
    const rootKey = (sc: Scenario) => [sc.spec.proxyVariant ?? 'default', ...(sc.spec.proxyBusyboxDirs ?? []).map((d) => d.mountPath)].join(' ');
    for (const sc of scenarios) {
      const ps = sc.spec.proxyPreStop;
      const variant = sc.spec.proxyVariant ?? 'default';
      const key = rootKey(sc);
      if (!ps || !('exec' in ps) || execsPilotAgent(ps.exec) || roots.has(key)) continue;
      checkAbort();
      const root = await buildHookRoot(`${files.dir}/root-${roots.size}-${variant}`, variant, { node: files.node, agentDir: dirname(files.agent), entry: basename(files.agent) }, sc.spec.proxyBusyboxDirs);
      if (root.missing.length) progress(`the ${variant} proxy image's root lacks ${root.missing.join(', ')} (not on this host); a hook that needs one fails`);
      for (const n of root.notes) progress(n);
      roots.set(key, root);
    }
    progress(`lab ${prefix}: network namespaces on a bridge, 198.18.0.0/15`);
    await net.setup();
    checkAbort();
    const ext = new AgentChannel('external-ready');
    ext.attach((onLine) =>
      procs.spawn([files!.node, files!.agent, 'external', JSON.stringify({ externalPort: EXTERNAL_PORT } satisfies ExternalConfig)], { name: 'external', ns: net.externalNs, uid: APP_UID, onLine }),
    );
    const balancer = new Balancer();
    balancer.ch.attach((onLine) =>
      procs.spawn([files!.node, files!.agent, 'balancer', JSON.stringify({ port: BALANCER_PORT, appPort: APP_PORT, bucketMs: BUCKET_MS, probeSource: PROBE_SOURCE_IP, ...(o.clients?.length ? { clients: o.clients } : {}), ...((o.clientRetries ?? 'istio-default') === 'istio-default' ? { retry: ISTIO_DEFAULT_RETRY } : {}) } satisfies BalancerConfig)], {
        name: 'balancer',
        ns: net.clientNs,
        onLine,
      }),
    );
    await Promise.all([ext.ready(), balancer.ch.ready()]);
    // The node's ztunnel starts when the first ambient pod needs it, and stays for the run.
    let zt: Promise<ZtunnelClient> | undefined;
    const ztunnel = () => (zt ??= startZtunnel(net, procs, files!));
    const runs: ScenarioRun[] = [];
    const delays = o.propagationDelaysMs?.length ? o.propagationDelaysMs : [o.propagationDelayMs];
    const protocols: LabProtocol[] = o.protocols?.length ? o.protocols : ['http1'];
    const plan = protocols.flatMap((protocol) => delays.flatMap((d) => scenarios.map((sc) => ({ sc, d, protocol }))));
    for (const [i, { sc, d, protocol }] of plan.entries()) {
      checkAbort();
      const env = { net, procs, files, balancer, ztunnel, progress, checkAbort, hookRoot: roots.get(rootKey(sc)) };
      const suffix = `${protocols.length > 1 || protocol !== 'http1' ? ` ${protocol}` : ''}${delays.length > 1 ? ` ${d / 1000}s` : ''}`;
      runs.push(await runScenario(sc, i, plan.length, { ...o, propagationDelayMs: d }, env, suffix, protocol));
    }
    return runs;
  } catch (err) {
    if (o.signal?.aborted) throw new LabAborted();
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await procs.killAll();
    await net.teardown();
    files?.remove();
  }
}

export class LabAborted extends Error {
  constructor() {
    super('interrupted; every namespace and process of the run was removed');
    this.name = 'LabAborted';
  }
}

/** sleep that ends early when the run is aborted. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      r();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** ztunnel in its own node namespace, as root (like the DaemonSet's privileged pod). */
async function startZtunnel(net: LabNet, procs: ProcTable, files: LabFiles): Promise<ZtunnelClient> {
  const ns = await net.addZtunnelNs();
  const ch = new AgentChannel('ztunnel-ready');
  const cfg: ZtunnelConfig = { self: files.agent, node: files.node, inboundPlaintextPort: ZTUNNEL_INBOUND_PLAINTEXT_PORT, outboundPort: ZTUNNEL_OUTBOUND_PORT };
  ch.attach((onLine) => procs.spawn([files.node, files.agent, 'ztunnel', JSON.stringify(cfg)], { name: 'ztunnel', ns, onLine }));
  await ch.ready();
  return {
    async add(pod) {
      const e = await ch.request({ op: 'add', pod: pod.name, ns: pod.ns, ip: pod.ip, appPort: pod.appPort });
      if (typeof e.error === 'string') throw new LabEnvError(`ztunnel: ${e.error}`);
    },
    async del(pod) {
      await ch.request({ op: 'del', pod: pod.name });
    },
  };
}

interface Env {
  net: LabNet;
  procs: ProcTable;
  files: LabFiles;
  balancer: Balancer;
  ztunnel: () => Promise<ZtunnelClient>;
  progress: (line: string, transient?: boolean) => void;
  checkAbort: () => void;
  hookRoot?: HookRoot;
}

async function runScenario(sc: Scenario, index: number, total: number, o: LabOptions, env: Env, suffix = '', protocol: LabProtocol = 'http1'): Promise<ScenarioRun> {
  const { balancer, progress, checkAbort } = env;
  const tag = `[${index + 1}/${total} ${sc.name}${suffix}]`;
  if (sc.spec.unstartable) {
    // Kubernetes would leave the new pod in ErrImagePull and the rollout stalled: nothing to measure.
    progress(`${tag} not run: the pod cannot start: ${sc.spec.unstartable}`);
    const now = Date.now();
    const load = { kind: o.load, requests: 0, failed: 0, reasons: {} };
    const stats: BalancerStats = { requests: 0, failed: 0, reasons: {}, buckets: {}, failures: [] };
    return { scenario: sc, startedAt: now, rolloutStartedAt: now, rolloutDoneAt: now, endedAt: now, terminated: [], created: [], load, balancer: stats, bucketMs: BUCKET_MS, propagationDelayMs: o.propagationDelayMs, protocol };
  }
  // Each client of the Service has its own endpoint view; each pod's proxy its own view of its Service
  // (EDS). Additions reach every view at once; removals reach each at its own time (ADR 075).
  const clientKinds = o.clients?.length ? o.clients : (['mesh'] as LabClientKind[]);
  const views: LabPod[][] = clientKinds.map(() => []);
  const own = new Map<LabPod, LabPod[]>();
  let pushing = Promise.resolve();
  let pushError: Error | undefined;
  // Endpoint updates are serialized; a failure (the balancer died) is kept and raised below.
  const push = (which: number[] = views.map((_, i) => i)) =>
    (pushing = pushing
      .then(async () => {
        if (views.length === 1) await balancer.setEndpoints([...views[0]!]);
        else for (const i of which) await balancer.setEndpoints([...views[i]!], i);
      })
      .catch((e: Error) => {
        pushError ??= e;
      }));
  const pushOwn = (pod: LabPod) => pod.proxyChannel?.send({ op: 'eds', endpoints: (own.get(pod) ?? []).map((p) => ({ ip: p.ip, port: p.appPort })) });
  const addEndpoints = (pods: LabPod[]) => {
    const known = [...new Set(views.flat())];
    for (const v of views) v.push(...pods);
    for (const view of own.values()) view.push(...pods);
    for (const p of pods) own.set(p, [...known, ...pods]);
    for (const p of own.keys()) pushOwn(p);
  };
  const kubelet = new Kubelet(
    {
      net: env.net,
      procs: env.procs,
      files: env.files,
      probe: (ip, probes) => balancer.probe(ip, probes),
      ztunnel: env.ztunnel,
      envoyDrainDirectionAware: o.envoyDrainDirectionAware,
      onEndpointRemoved: (pod, receiver) => {
        if (receiver === 'self') {
          const view = own.get(pod);
          if (view?.includes(pod)) view.splice(view.indexOf(pod), 1);
          pushOwn(pod);
          return;
        }
        const view = views[receiver];
        const i = view ? view.indexOf(pod) : -1;
        if (view && i >= 0) view.splice(i, 1);
        void push([receiver]);
        // Gone from every client: the other pods' proxies drop it too (the pod's own keeps its schedule).
        if (!views.some((v) => v.includes(pod))) {
          for (const [p, v] of own) {
            if (p === pod || !v.includes(pod)) continue;
            v.splice(v.indexOf(pod), 1);
            pushOwn(p);
          }
        }
      },
      clients: clientKinds.length,
      appShutdownMs: o.appShutdownMs,
      appClosesPortOnSigterm: o.appClosesPortOnSigterm,
      appCallsOut: o.appCallsOut !== false,
      egressIntervalMs: o.egressIntervalMs,
      propagationDelayMs: o.propagationDelayMs,
      protocol,
      ...(env.hookRoot ? { hookRoot: env.hookRoot } : {}),
      signal: o.signal,
    },
    sc.spec,
    1 + index * 100,
  );
  // Built-ins roll --replicas one at a time (maxSurge 1, maxUnavailable 0); --manifest, the workload's.
  const shape: Pick<RolloutShape, 'replicas' | 'maxSurge' | 'maxUnavailable' | 'replaceAfterExit'> = sc.rollout ?? builtinRollout(o.replicas);
  const replicas = shape.replicas;
  progress(`${tag} starting ${replicas} pods (${sc.title})`);
  const old = await Promise.all(Array.from({ length: replicas }, () => kubelet.startPod(1)));
  const created: LabPod[] = [];
  try {
    addEndpoints(old);
    await push();
    await balancer.stats(true);
    checkAbort();
    const load: LoadRun =
      o.load === 'siege' ? await startSiege(env.procs, env.files, env.net.clientNs, o.concurrency) : await startBuiltinLoad(env.procs, env.files, env.net.clientNs, o.concurrency, 30 * 60_000, protocol, BUCKET_MS);
    const startedAt = Date.now();
    await pause(o.warmupMs, o.signal);
    checkAbort();
    const rolloutStartedAt = Date.now();
    const terms: Promise<void>[] = [];
    const status = () => {
      const term = old.filter((p) => p.terminatingAt && !p.goneAt).length;
      return `${tag} t=${((Date.now() - startedAt) / 1000).toFixed(1)}s new ready ${created.length}/${replicas}, terminating ${term}, gone ${old.filter((p) => p.goneAt).length}`;
    };
    const ticker = setInterval(() => progress(status(), true), 2000);
    try {
      let next = 0;
      for (const wave of rolloutWaves(shape)) {
        // StatefulSet (and DaemonSet without surge): a replacement starts once the pod it replaces is gone.
        if (shape.replaceAfterExit) await Promise.all(terms);
        checkAbort();
        const fresh = await Promise.all(Array.from({ length: wave.start }, () => kubelet.startPod(2)));
        created.push(...fresh);
        if (fresh.length) {
          addEndpoints(fresh);
          await push();
        }
        progress(status());
        for (const victim of old.slice(next, next + wave.terminate)) {
          const term = kubelet.terminate(victim);
          // Awaited below on the normal path; when an abort or an error leaves the loop first, a
          // termination that then fails (the lab is shutting down) must not become an unhandled rejection.
          term.catch(() => undefined);
          terms.push(term);
        }
        next += wave.terminate;
        checkAbort();
      }
      const rolloutDoneAt = Date.now();
      await Promise.all(terms);
      checkAbort();
      const left = startedAt + o.durationMs - Date.now();
      if (left > 0) await pause(left, o.signal);
      // A slow machine still gets the request count the claim is about, within a bound.
      const cap = Date.now() + o.maxExtraMs;
      const minRequests = !o.minRequestsFor || o.minRequestsFor.includes(sc.name) ? o.minRequests : 0;
      // WebSocket messages are counted by the load (the balancer sees connections).
      const count = load.count ? () => load.count!() : () => balancer.count();
      while (!o.signal?.aborted && Date.now() < cap && (await count()) < minRequests) await pause(250, o.signal);
      await pause(o.settleMs, o.signal);
      checkAbort();
      if (pushError) throw pushError;
      const result = await load.stop();
      const stats = await balancer.stats(true);
      const endedAt = Date.now();
      progress(`${tag} done: ${result.requests} requests, ${result.failed} failed`);
      return {
        scenario: sc,
        startedAt,
        rolloutStartedAt,
        rolloutDoneAt,
        endedAt,
        terminated: old,
        created,
        load: result,
        balancer: stats,
        bucketMs: BUCKET_MS,
        propagationDelayMs: o.propagationDelayMs,
        protocol,
      };
    } finally {
      clearInterval(ticker);
    }
  } finally {
    for (const v of views) v.length = 0;
    await push();
    await Promise.all([...created, ...old.filter((p) => !p.goneAt && !p.terminatingAt)].map((p) => kubelet.destroy(p).catch(() => undefined)));
  }
}
