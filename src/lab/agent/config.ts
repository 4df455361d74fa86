/**
 * What each role of the lab agent is told when it starts (one JSON argument). Shared, type-only,
 * between the lab (which builds these) and the agent (which runs them). The agent is one bundled file
 * (scripts/build.mjs; @grpc/grpc-js and ws are bundled into it), because it is copied to a
 * world-readable temp directory and run there by plain `node` as UID 1337 / 1000
 * (docs/adr/050-lab-isolation.md, 076-lab-grpc-websocket-wired.md).
 */

/** The ports Istio's proxy processes listen on in a pod (values from src/istio/facts.ts). */
export interface ProxyPorts {
  /** Envoy's inbound capture listener (15006). */
  inbound: number;
  /** Envoy's outbound capture listener (15001). */
  outbound: number;
  /** Envoy's admin API on localhost (15000). */
  admin: number;
  /** Envoy's Prometheus listener (15090). */
  prometheus: number;
  /** pilot-agent's status server (15020). */
  status: number;
  /** pilot-agent's health listener (15021). */
  health: number;
}

/**
 * What the app's serving port speaks (ADR 074, 076); metrics, probes to pilot-agent and egress stay
 * HTTP/1.1. grpc: @grpc/grpc-js over h2c; websocket: `ws`, an HTTP/1.1 upgrade.
 */
export type LabProtocol = 'http1' | 'http2' | 'grpc' | 'websocket';

/** The balancer's h2c listener for gRPC clients (the HTTP/1.1 one, upgrades included, is BALANCER_PORT). */
export const BALANCER_GRPC_PORT = 81;

export interface EnvoyConfig {
  pod: string;
  appPort: number;
  /** http2: inbound is h2c, forwarded to the app over h2c, drained with GOAWAY. Default http1. */
  protocol?: LabProtocol;
  /**
   * EXIT_ON_ZERO_ACTIVE_CONNECTIONS: Istio's bootstrap then adds `downstream_cx_active` to Envoy's stats
   * inclusion (istio pkg/bootstrap/config.go:295-297); without it Envoy does not report it.
   */
  exitOnZero?: boolean;
  /** The pod's own Service, as its Envoy names the cluster (default app.lab.svc.cluster.local). */
  service?: string;
  ports: ProxyPorts;
  /**
   * Envoy 1.34+ (envoyproxy/envoy#37873): `drain_listeners?inboundonly&graceful` drains inbound
   * listeners only. false models older Envoy, whose graceful drain ignored `inboundonly` and also
   * answered the app's outbound requests with `connection: close` (envoyproxy/envoy#35020).
   */
  drainDirectionAware: boolean;
}

export interface PilotAgentConfig extends EnvoyConfig {
  /** The `envoy` name pilot-agent starts (a symlink to node). */
  envoyBin: string;
  terminationDrainMs: number;
  exitOnZero: boolean;
  minimumDrainMs: number;
}

/** `pilot-agent request` gets no JSON argument (its argv is the manifest's); this comes by env. */
export const REQUEST_CONFIG_ENV = 'MESHDRAIN_LAB_AGENT';
export interface RequestConfig {
  /** `pilot-agent request`'s default --debug-port: Envoy's admin port. */
  adminPort: number;
}

export interface AppConfig {
  pod: string;
  appPort: number;
  /** A second port kept open until exit (metrics); null: the app has only appPort. */
  metricsPort: number | null;
  externalIp: string;
  externalPort: number;
  shutdownWorkMs: number;
  egressIntervalMs: number;
  closeOnSigterm: boolean;
  /**
   * The shutdown work calls the external service (every egressIntervalMs, through the pod's proxy);
   * false: it is the same wait without a call out (ADR 079). Absent: true, the lab's app as before.
   */
  callsOut?: boolean;
  /** http2: the serving port is h2c only. Default http1. */
  protocol?: LabProtocol;
}

export interface ExternalConfig {
  externalPort: number;
}

/** The node's ztunnel (ambient): one process outside the pods, listeners inside each pod's netns. */
export interface ZtunnelConfig {
  /** This program's entry, for the helper that opens a pod's listeners inside its namespace. */
  self: string;
  node: string;
  inboundPlaintextPort: number;
  outboundPort: number;
}

/** The helper ztunnel starts in a pod's namespace: opens the listeners and hands them over (IPC). */
export interface ZtunnelListenConfig {
  ports: number[];
}

/** A client of the Service: a client-side proxy (per request), or a non-mesh client via kube-proxy (per connection). */
export type LabClientKind = 'mesh' | 'kube-proxy';

/** A client proxy's route retry policy, as Envoy reads it (values: src/istio/facts.ts ISTIO_DEFAULT_RETRY; ADR 077). */
export interface RetryPolicy {
  numRetries: number;
  retryOn: readonly string[];
  retriableStatusCodes: readonly number[];
  hostSelectionRetryMaxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface BalancerConfig {
  port: number;
  /** The mesh clients' (client-side proxies') retry policy; kube-proxy clients never retry. Absent: none. */
  retry?: RetryPolicy;
  /** The Service's clients, each with its own endpoint view; default one mesh client. */
  clients?: LabClientKind[];
  appPort: number;
  bucketMs: number;
  /** The node's address the kubelet's probes come from (ambient exempts it from capture). */
  probeSource: string;
}

/** One readiness probe as the kubelet sends it. */
export interface Probe {
  port: number;
  path: string;
  /** Sent over h2c (the app's port under --protocol http2). */
  h2?: boolean;
  /** A gRPC readiness call (the app's port under --protocol grpc); `path` is not used. */
  grpc?: boolean;
}

export interface LoadConfig {
  target: string;
  port: number;
  concurrency: number;
  maxMs: number;
  maxRequests: number;
  /** What the clients speak: http1 (default, also for http2 apps: the client proxy speaks h2 upstream), grpc or websocket. */
  protocol?: LabProtocol;
  /** grpc: server-streaming calls held open; websocket: the interval between one connection's messages. */
  streams?: number;
  messageIntervalMs?: number;
  /** Bucket width for the load's own timeline (websocket: the balancer sees connections, not messages). */
  bucketMs?: number;
}

export interface RoleConfigs {
  envoy: EnvoyConfig;
  'pilot-agent': PilotAgentConfig;
  app: AppConfig;
  external: ExternalConfig;
  balancer: BalancerConfig;
  load: LoadConfig;
  ztunnel: ZtunnelConfig;
  'ztunnel-listen': ZtunnelListenConfig;
}
export type Role = keyof RoleConfigs;
