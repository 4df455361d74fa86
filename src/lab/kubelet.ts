/**
 * The lab's kubelet: starts pods (netns + istio-proxy + app) and terminates them the way Kubernetes
 * does: endpoint removal after the propagation delay; preStop hooks of all containers at once, exec'd
 * in the pod's namespace as the container's UID; SIGTERM to each container when its own preStop ends;
 * SIGKILL at terminationGracePeriodSeconds. Native sidecars: the sidecar's preStop starts with the
 * others, its SIGTERM waits until the app container has exited (KEP-753 beta behaviour).
 */
import { AGENT_HEALTH_PORT, AGENT_STATUS_PORT, ENVOY_ADMIN_PORT, ENVOY_PROMETHEUS_PORT, INBOUND_CAPTURE_PORT, OUTBOUND_CAPTURE_PORT, PROXY_UID } from '../istio/facts.js';
import { REQUEST_CONFIG_ENV, type AppConfig, type LabProtocol, type PilotAgentConfig, type Probe, type ProxyPorts, type RequestConfig } from './agent/config.js';
import { AgentChannel, parseEvent } from './control.js';
import { LabEnvError } from './errors.js';
import { labEnv } from './exec.js';
import type { LabFiles } from './files.js';
import { EXTERNAL_IP, PROBE_SOURCE_IP, podIp, type LabNet } from './netns.js';
import type { LabProc, ProcTable } from './procs.js';
import { execsPilotAgent, hookArgv, preStopOutcome, type HookRoot } from './hook-root.js';
import { APP_METRICS_PORT, APP_PORT, type LabPodSpec, type LabPreStop } from './pod-spec.js';
import { APP_UID } from './scenarios.js';

export const EXTERNAL_PORT = 8080;

/** Where the lab's istio-proxy listens: Istio's ports, from the facts file. */
export const PROXY_PORTS: ProxyPorts = Object.freeze({
  inbound: INBOUND_CAPTURE_PORT,
  outbound: OUTBOUND_CAPTURE_PORT,
  admin: ENVOY_ADMIN_PORT,
  prometheus: ENVOY_PROMETHEUS_PORT,
  status: AGENT_STATUS_PORT,
  health: AGENT_HEALTH_PORT,
});

/** The kubelet's readiness probes (from the node): pilot-agent's health, then the app's probe as the injector rewrote it. */
export const SIDECAR_READINESS_PROBES: readonly Probe[] = Object.freeze([
  { port: AGENT_HEALTH_PORT, path: '/healthz/ready' },
  { port: AGENT_STATUS_PORT, path: '/app-health/app/readyz' },
]);
/** Without a sidecar (ambient) the kubelet probes the app itself. */
export const APP_READINESS_PROBES: readonly Probe[] = Object.freeze([{ port: APP_PORT, path: '/ready' }]);
const appReadinessProbes = (port: number, protocol: LabProtocol): readonly Probe[] =>
  protocol === 'grpc' ? [{ port, path: '/meshdrain.lab.Echo/Ready', grpc: true }] : port === APP_PORT && protocol !== 'http2' ? APP_READINESS_PROBES : [{ port, path: '/ready', ...(protocol === 'http2' ? { h2: true } : {}) }];

/** The node's ztunnel, as the kubelet's CNI sees it: a pod's listeners are added before its containers start, removed once they are all gone. */
export interface ZtunnelClient {
  add(pod: LabPod): Promise<void>;
  del(pod: LabPod): Promise<void>;
}

export type PodEventKind =
  | 'created'
  | 'ready'
  | 'terminating'
  | 'endpoint-removed'
  | 'prestop-start'
  | 'prestop-end'
  | 'sigterm'
  | 'exit'
  | 'sigkill'
  | 'gone'
  | 'log';

export interface PodEvent {
  t: number;
  kind: PodEventKind;
  container?: 'app' | 'istio-proxy';
  detail?: string;
}

export interface EgressCall {
  t: number;
  ok: boolean;
  reason: string;
  /** The response said `connection: close` (a proxy draining outbound). */
  close: boolean;
}

/** How a preStop ended, as the kubelet sees it (hook-root.ts preStopOutcome). */
export interface PreStopResult {
  container: 'app' | 'istio-proxy';
  ok: boolean;
  detail: string;
}

/**
 * A request to a quit endpoint, as the endpoint answered it (agent/proxy.ts quitRequest): pilot-agent's
 * /quitquitquit on its status port or Envoy's admin one; the method, the peer's address, the status.
 */
export interface QuitRequest {
  endpoint: 'pilot-agent' | 'envoy-admin';
  method: string;
  from: string;
  status: number;
}

/** Who gets an endpoint removal: a client of the Service (by index), or the pod's own proxy. */
export type RemovalReceiver = number | 'self';

/** A deterministic PRNG (mulberry32), so a pod's skew is the same from run to run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * When each receiver learns that a terminating pod's endpoint is gone (ADR 075). istiod pushes EDS to
 * each proxy on its own schedule (debounce, push queue, each connection's send): with one client the
 * removal reaches every receiver at the propagation delay (the lab's model before skew); with several,
 * receivers get it in a shuffled order spread evenly over the window, the last at the delay itself.
 * The pod's own proxy takes part in the shuffle: it is not first by construction.
 */
export function removalSchedule(podNumber: number, clients: number, withSelf: boolean, delayMs: number): { receiver: RemovalReceiver; atMs: number }[] {
  const receivers: RemovalReceiver[] = [...Array.from({ length: clients }, (_, i) => i), ...(withSelf ? (['self'] as const) : [])];
  if (clients <= 1) return receivers.map((receiver) => ({ receiver, atMs: delayMs }));
  const rnd = prng(podNumber * 7919 + clients);
  const order = [...receivers];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.map((receiver, k) => ({ receiver, atMs: Math.round((delayMs * (k + 1)) / order.length) }));
}

export class LabPod {
  readonly events: PodEvent[] = [];
  readonly egress: EgressCall[] = [];
  readonly preStops: PreStopResult[] = [];
  /** Requests istio-proxy's quit endpoints answered (a preStop's /quitquitquit; ADR 091). */
  readonly quitRequests: QuitRequest[] = [];
  /** The port the app serves on (the endpoint's port). */
  appPort = APP_PORT;
  /** What the app's port speaks (the endpoint's protocol). */
  protocol: LabProtocol = 'http1';
  /** istio-proxy's command channel (EDS pushes reach Envoy through pilot-agent). */
  proxyChannel?: AgentChannel;
  /** When the pod's own proxy learned its endpoint was removed (skewed pushes, ADR 075). */
  ownRemovalAt?: number;
  app!: LabProc;
  /** The istio-proxy container; none in ambient (ztunnel lives on the node). */
  proxy?: LabProc;
  readyAt?: number;
  terminatingAt?: number;
  endpointRemovedAt?: number;
  appSigtermAt?: number;
  proxySigtermAt?: number;
  appExitAt?: number;
  proxyExitAt?: number;
  /** When Envoy was first told to drain (its `/drain_listeners`). */
  drainStartedAt?: number;
  killedAt?: number;
  goneAt?: number;

  constructor(
    readonly n: number,
    readonly name: string,
    readonly ns: string,
    readonly ip: string,
    readonly version: number,
    readonly createdAt: number,
  ) {}

  mark(kind: PodEventKind, container?: PodEvent['container'], detail?: string, t = Date.now()): void {
    const e: PodEvent = { t, kind };
    if (container) e.container = container;
    if (detail !== undefined) e.detail = detail;
    this.events.push(e);
  }
}

export interface KubeletDeps {
  net: LabNet;
  procs: ProcTable;
  files: LabFiles;
  /** Probe a pod's readiness through the balancer's namespace (kubelet probes come from the node). */
  probe: (ip: string, probes: readonly Probe[]) => Promise<boolean>;
  /** The node's ztunnel (ambient pods only). */
  ztunnel?: () => Promise<ZtunnelClient>;
  /** Envoy 1.34+ drains inbound only when asked to (false: older Envoy, outbound too). */
  envoyDrainDirectionAware: boolean;
  /** Endpoint changes: the rollout owns the endpoint lists (one per client, and each pod's own view). */
  onEndpointRemoved: (pod: LabPod, receiver: RemovalReceiver) => void;
  /** How many clients (client-side proxies / kube-proxy paths) have their own view; default 1. */
  clients?: number;
  appShutdownMs: number;
  /** The app stops accepting on its port at SIGTERM (server.close()) instead of serving until exit. */
  appClosesPortOnSigterm: boolean;
  /** The app's shutdown work calls the external service (default true; ADR 079). */
  appCallsOut?: boolean;
  egressIntervalMs: number;
  propagationDelayMs: number;
  /** What the app's serving port speaks (--protocol); default http1. */
  protocol?: LabProtocol;
  /** The proxy image's root istio-proxy exec hooks run in (ADR 071); undefined: the host's tools. */
  hookRoot?: HookRoot;
  /** The run was aborted: skip waits that only keep the timeline realistic. */
  signal?: AbortSignal;
}

export class Kubelet {
  private nextPod = 0;

  constructor(
    private readonly d: KubeletDeps,
    private readonly spec: LabPodSpec,
    private readonly podNumberBase: number,
  ) {}

  /** Start one container's agent in the pod's namespace as its UID; record its log lines and its exit. */
  private startContainer(pod: LabPod, container: 'app' | 'istio-proxy', argv: string[], uid: number, readyEvent: string): AgentChannel {
    const ch = new AgentChannel(readyEvent);
    const proc = ch.attach((onLine) =>
      this.d.procs.spawn(argv, {
        name: `${pod.name}/${container}`,
        ns: pod.ns,
        uid,
        onLine: (l) => {
          onLine(l);
          this.agentLine(pod, container, l);
        },
      }),
    );
    if (container === 'app') pod.app = proc;
    else {
      pod.proxy = proc;
      pod.proxyChannel = ch;
    }
    void proc.exited.then((x) => {
      if (container === 'app') pod.appExitAt = x.at;
      else pod.proxyExitAt = x.at;
      pod.mark('exit', container, x.signal ?? String(x.code), x.at);
    });
    return ch;
  }

  /** Create a pod, start its containers, and resolve once its readiness probe passes. */
  async startPod(version: number, readyTimeoutMs = 20_000): Promise<LabPod> {
    const n = this.podNumberBase + this.nextPod++;
    const ambient = this.spec.mode === 'ambient';
    const appPort = this.spec.appPort ?? APP_PORT;
    const protocol = this.d.protocol ?? 'http1';
    const metricsPort = this.spec.metricsPort === undefined ? APP_METRICS_PORT : this.spec.metricsPort === appPort ? null : this.spec.metricsPort;
    const ns = await this.d.net.addPod(n, appPort, ambient ? 'ztunnel' : 'sidecar');
    const pod = new LabPod(n, `lab-app-v${version}-${n}`, ns, podIp(n), version, Date.now());
    pod.appPort = appPort;
    pod.protocol = protocol;
    pod.mark('created');
    const { files } = this.d;
    const waits: Promise<void>[] = [];
    if (ambient) {
      // The CNI plugin runs before any container: ztunnel listens in the pod before the app starts.
      if (!this.d.ztunnel) throw new LabEnvError('an ambient pod needs the node\'s ztunnel');
      await (await this.d.ztunnel()).add(pod);
    } else {
      const proxyCfg: PilotAgentConfig = {
        pod: pod.name,
        appPort,
        protocol,
        ports: PROXY_PORTS,
        drainDirectionAware: this.d.envoyDrainDirectionAware,
        envoyBin: files.envoyBin,
        terminationDrainMs: this.spec.terminationDrainMs,
        exitOnZero: this.spec.exitOnZero,
        minimumDrainMs: this.spec.minimumDrainMs,
      };
      waits.push(this.startContainer(pod, 'istio-proxy', [files.pilotAgentBin, files.agent, 'pilot-agent', JSON.stringify(proxyCfg)], PROXY_UID, 'envoy-ready').ready(readyTimeoutMs));
    }
    const appCfg: AppConfig = {
      pod: pod.name,
      appPort,
      metricsPort,
      externalIp: EXTERNAL_IP,
      externalPort: EXTERNAL_PORT,
      shutdownWorkMs: this.d.appShutdownMs,
      egressIntervalMs: this.d.egressIntervalMs,
      closeOnSigterm: this.d.appClosesPortOnSigterm,
      callsOut: this.d.appCallsOut !== false,
      protocol,
    };
    waits.push(this.startContainer(pod, 'app', [files.node, files.agent, 'app', JSON.stringify(appCfg)], APP_UID, 'app-ready').ready(readyTimeoutMs));
    await Promise.all(waits);
    const deadline = Date.now() + readyTimeoutMs;
    const probes = ambient ? appReadinessProbes(appPort, protocol) : SIDECAR_READINESS_PROBES;
    while (!(await this.d.probe(pod.ip, probes))) {
      if (Date.now() > deadline) throw new LabEnvError(`${pod.name} never became ready in ${readyTimeoutMs} ms`);
      await sleep(50);
    }
    pod.readyAt = Date.now();
    pod.mark('ready');
    return pod;
  }

  private agentLine(pod: LabPod, container: 'app' | 'istio-proxy', line: string): void {
    const e = parseEvent(line);
    if (!e) {
      if (line.trim()) pod.mark('log', container, line.slice(0, 300));
      return;
    }
    if (e.ev === 'egress') pod.egress.push({ t: e.t, ok: e.ok === true, reason: String(e.reason ?? ''), close: e.close === true });
    else if (e.ev === 'quit-request') {
      const q: QuitRequest = { endpoint: e.endpoint === 'envoy-admin' ? 'envoy-admin' : 'pilot-agent', method: String(e.method ?? ''), from: String(e.from ?? ''), status: Number(e.status) };
      pod.quitRequests.push(q);
      pod.mark('log', container, `${q.endpoint} /quitquitquit answered ${q.status} to a ${q.method} from ${q.from}`, e.t);
    }
    else if (e.ev === 'envoy-drain') {
      pod.drainStartedAt ??= e.t;
      pod.mark('log', container, `${e.ev} ${String(e.query ?? '')}`, e.t);
    } else if (!e.ev.endsWith('-ready')) pod.mark('log', container, e.ev, e.t);
  }

  /**
   * Run a preStop; resolves when it ends (exit, or killed at the grace period). istio-proxy's exec hooks
   * run in the proxy image's root when the run has one (hook-root.ts; pilot-agent itself runs outside
   * it); an httpGet is the kubelet's GET from the node to the pod's address. The outcome is the kubelet's (preStopOutcome): a hook
   * that fails or cannot start is FailedPreStopHook, and its container gets SIGTERM at once all the same.
   */
  private runPreStop(pod: LabPod, container: 'app' | 'istio-proxy', ps: LabPreStop | undefined, hooks: LabProc[]): Promise<void> {
    if (!ps) return Promise.resolve();
    pod.mark('prestop-start', container);
    if ('sleepMs' in ps) {
      return sleep(ps.sleepMs).then(() => {
        pod.preStops.push({ container, ok: true, detail: 'sleep' });
        pod.mark('prestop-end', container, 'sleep');
      });
    }
    const { files, procs } = this.d;
    let argv: string[];
    let uid: number | undefined = container === 'app' ? APP_UID : PROXY_UID;
    let env: Record<string, string> | undefined;
    let ns = pod.ns;
    if ('httpGet' in ps) {
      // The kubelet's GET (kubernetes pkg/kubelet/lifecycle/handlers.go runHTTPHandler: the host defaults
      // to the pod IP; httpprobe.NewRequestForHTTPGetAction builds a GET) leaves the node, not the pod: the
      // lab's node side is the client namespace, from the address its probes use. So the pod sees a peer
      // that is not loopback (pilot-agent's /quitquitquit answers 403) and no capture of the pod's own
      // outbound traffic applies. Any response completes the hook (runHTTPHandler returns only the
      // transport's error): the status goes to the record, the hook is not failed for it. ADR 091.
      const g = ps.httpGet;
      const url = `${g.scheme === 'HTTPS' ? 'https' : 'http'}://${g.host && !/^(localhost|127\.)/.test(g.host) ? g.host : pod.ip}:${g.port}${g.path}`;
      const js = `const u=${JSON.stringify(url)};require(u.startsWith('https')?'https':'http').get(u,{rejectUnauthorized:false,localAddress:${JSON.stringify(PROBE_SOURCE_IP)}},(r)=>{let b='';r.setEncoding('utf8');r.on('data',(d)=>{if(b.length<200)b+=d});r.on('end',()=>{console.log('HTTP '+r.statusCode+(b.trim()?' '+b.trim().split('\\n')[0].slice(0,120):''));process.exit(0)})}).on('error',(e)=>{console.error(String(e.message));process.exit(1)})`;
      argv = [files.node, '-e', js];
      ns = this.d.net.clientNs;
      uid = undefined;
    } else if (container === 'istio-proxy' && this.d.hookRoot && !execsPilotAgent(ps.exec)) {
      // Runs as root into `unshare --mount` + chroot, which drops to UID 1337 itself.
      // The host's PATH (chroot is in /usr/sbin); inside the root only /usr/bin and /bin exist.
      argv = hookArgv(this.d.hookRoot, PROXY_UID, ps.exec);
      uid = undefined;
      // The root's /usr/local/bin/pilot-agent is the lab's agent: `pilot-agent request` needs its config
      // (without it, meshdrain's hold could not ask for the drain at start and fell back to Istio's).
      env = { [REQUEST_CONFIG_ENV]: JSON.stringify({ adminPort: PROXY_PORTS.admin } satisfies RequestConfig) };
    } else {
      argv = ps.exec;
      // The proxy image's `pilot-agent` is ours: the same program, named like Istio's.
      // istio-proxy's image has pilot-agent on its PATH; ours runs the lab's agent (`pilot-agent request`).
      const requestCfg: RequestConfig = { adminPort: PROXY_PORTS.admin };
      if (container === 'istio-proxy') env = { PATH: `${files.hookBin}:${labEnv().PATH}`, [REQUEST_CONFIG_ENV]: JSON.stringify(requestCfg) };
    }
    const stderrTail: string[] = [];
    let httpStatus: string | undefined;
    const hook = procs.spawn(argv, {
      name: `${pod.name}/${container}/preStop`,
      ns,
      ...(uid !== undefined ? { uid } : {}),
      ...(env ? { env } : {}),
      onLine: (l) => {
        if ('httpGet' in ps && /^HTTP \d{3}/.test(l)) httpStatus = l;
        pod.mark('log', container, `preStop: ${l.slice(0, 300)}`);
      },
      onStderr: (l) => {
        stderrTail.push(l);
        if (stderrTail.length > 20) stderrTail.shift();
        pod.mark('log', container, `preStop: ${l.slice(0, 300)}`);
      },
    });
    hooks.push(hook);
    return hook.exited.then((x) => {
      const outcome =
        pod.killedAt !== undefined && x.signal
          ? { ok: false, detail: 'killed at terminationGracePeriodSeconds' }
          : x.code === 0 && httpStatus
            ? { ok: true, detail: httpStatus }
            : preStopOutcome(x.code, x.signal, stderrTail);
      pod.preStops.push({ container, ...outcome });
      pod.mark('prestop-end', container, outcome.ok ? (x.signal ?? `exit ${x.code}`) : outcome.detail, x.at);
    });
  }

  private sigterm(pod: LabPod, container: 'app' | 'istio-proxy'): void {
    const p = container === 'app' ? pod.app : pod.proxy;
    if (!p || p.exit) return;
    if (container === 'app') pod.appSigtermAt = Date.now();
    else pod.proxySigtermAt = Date.now();
    pod.mark('sigterm', container);
    this.d.procs.signal(p, 'SIGTERM');
  }

  /** Kubernetes' termination sequence; resolves when every container has exited. */
  async terminate(pod: LabPod): Promise<void> {
    const { procs } = this.d;
    pod.terminatingAt = Date.now();
    pod.mark('terminating');
    const clients = this.d.clients ?? 1;
    const schedule = removalSchedule(pod.n, clients, pod.proxy !== undefined, this.d.propagationDelayMs);
    let clientsLeft = clients;
    const removals = schedule.map(({ receiver, atMs }) =>
      setTimeout(() => {
        if (receiver === 'self') {
          pod.ownRemovalAt = Date.now();
          pod.mark('log', 'istio-proxy', 'eds: own endpoint removed');
        } else if (clients > 1) pod.mark('log', undefined, `eds: endpoint removed at client ${receiver}`);
        this.d.onEndpointRemoved(pod, receiver);
        if (receiver !== 'self' && --clientsLeft === 0) {
          // Every client has it: the endpoint is gone (the propagation delay).
          pod.endpointRemovedAt = Date.now();
          pod.mark('endpoint-removed');
        }
      }, atMs),
    );
    const hooks: LabProc[] = [];
    const containers = [pod.app, ...(pod.proxy ? [pod.proxy] : [])];
    const killer = setTimeout(() => {
      pod.killedAt = Date.now();
      pod.mark('sigkill', undefined, 'terminationGracePeriodSeconds reached');
      for (const p of [...containers, ...hooks]) procs.killGroup(p);
    }, this.spec.graceMs);
    const appPre = this.runPreStop(pod, 'app', this.spec.appPreStop, hooks);
    void appPre.then(() => this.sigterm(pod, 'app'));
    if (pod.proxy) {
      const proxyPre = this.runPreStop(pod, 'istio-proxy', this.spec.proxyPreStop, hooks);
      if (this.spec.mode === 'native') {
        // kuberuntime_container.go killContainer: the sidecar's preStop runs first (at termination
        // start, with everyone's), then it waits for its turn — the main containers' exit — then SIGTERM.
        void Promise.all([proxyPre, pod.app.exited]).then(() => this.sigterm(pod, 'istio-proxy'));
      } else {
        void proxyPre.then(() => this.sigterm(pod, 'istio-proxy'));
      }
    }
    await Promise.all(containers.map((p) => p.exited));
    clearTimeout(killer);
    if (this.spec.mode === 'ambient' && this.d.ztunnel) {
      // Every container has exited: ZDS DelWorkload, ztunnel removes the pod's listeners at once.
      await (await this.d.ztunnel()).del(pod);
      pod.proxyExitAt = Date.now();
      pod.mark('exit', 'istio-proxy', 'ztunnel: DelWorkload');
    }
    // A hook still running when its container is gone dies with it.
    for (const h of hooks) if (!h.exit) procs.killGroup(h);
    await Promise.all(hooks.map((h) => h.exited));
    if (pod.endpointRemovedAt === undefined && !this.d.signal?.aborted) {
      // The pod is gone before propagation finished; the endpoint still goes away on schedule.
      await new Promise<void>((r) => {
        const left = pod.terminatingAt! + this.d.propagationDelayMs - Date.now();
        setTimeout(r, Math.max(0, left) + 5);
      });
    }
    for (const r of removals) clearTimeout(r);
    pod.goneAt = Date.now();
    pod.mark('gone');
    await this.d.net.removeNs(pod.ns);
  }

  /** Stop a pod at once (end of a scenario, errors): SIGKILL everything, remove its namespace. */
  async destroy(pod: LabPod): Promise<void> {
    for (const p of [pod.app, pod.proxy]) if (p) this.d.procs.killGroup(p);
    await Promise.all([pod.app?.exited, pod.proxy?.exited]);
    if (this.spec.mode === 'ambient' && this.d.ztunnel) await (await this.d.ztunnel()).del(pod);
    await this.d.net.removeNs(pod.ns);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
