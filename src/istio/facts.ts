/**
 * Istio facts the whole product shares. One place defines each; everything imports it.
 * Sources: ../shared/design/istio-shutdown-facts.md (istio/istio tools/istio-iptables,
 * pilot/cmd/pilot-agent, istio/api mesh/v1alpha1/proxy.proto).
 */
import { MESHDRAIN_ANNOTATIONS } from '../constants.js';

/** Ports Istio's own processes listen on inside a pod; "app listeners" are every other port. */
export const ISTIO_PORTS: readonly number[] = Object.freeze([
  15000, // Envoy admin
  15001, // outbound capture
  15002, // iptables probe
  15004, // debug
  15006, // inbound capture
  15008, // HBONE
  15009, // HBONE h2c
  15020, // agent status / merged metrics
  15021, // health
  15053, // DNS
  15090, // Envoy Prometheus
]);

export const PROXY_UID = 1337;
export const PROXY_CONTAINER = 'istio-proxy';
export const INBOUND_CAPTURE_PORT = 15006;
export const OUTBOUND_CAPTURE_PORT = 15001;
export const ENVOY_ADMIN_PORT = 15000;
export const ENVOY_PROMETHEUS_PORT = 15090;
/** pilot-agent's health listener (/healthz/ready). */
export const AGENT_HEALTH_PORT = 15021;
/** pilot-agent's debug port (istio/istio pkg/config/constants). */
export const AGENT_DEBUG_PORT = 15004;
/** ztunnel's in-pod listeners (ambient; cni/pkg/config/config.go): HBONE, outbound, inbound plaintext. */
export const ZTUNNEL_HBONE_PORT = 15008;
export const ZTUNNEL_OUTBOUND_PORT = 15001;
export const ZTUNNEL_INBOUND_PLAINTEXT_PORT = 15006;

/** ProxyConfig defaults (seconds). */
export const DEFAULT_TERMINATION_DRAIN_SECONDS = 5;
export const DEFAULT_MINIMUM_DRAIN_SECONDS = 5;
/** Kubernetes' default terminationGracePeriodSeconds. */
export const DEFAULT_GRACE_SECONDS = 30;

export const ANNOTATIONS = Object.freeze({
  inject: 'sidecar.istio.io/inject',
  nativeSidecar: 'sidecar.istio.io/nativeSidecar',
  proxyConfig: 'proxy.istio.io/config',
  templates: 'inject.istio.io/templates',
  legacyPreStop: 'sidecar.istio.io/preStopCommand',
  proxyImageType: 'sidecar.istio.io/proxyImageType',
  /** meshdrain's own (constants.ts), kept here so ANNOTATIONS lists every annotation a pod may carry. */
  waitFor: MESHDRAIN_ANNOTATIONS.waitFor,
});

export const PROXY_METADATA = Object.freeze({
  exitOnZero: 'EXIT_ON_ZERO_ACTIVE_CONNECTIONS',
  minimumDrain: 'MINIMUM_DRAIN_DURATION',
});

/**
 * When each piece of native-sidecar support arrived (../shared/design/istio-shutdown-facts.md).
 * Kubernetes' versions sit here too: they decide the same question.
 */
export const NATIVE_SIDECAR_VERSIONS = Object.freeze({
  kubeBeta: { major: 1, minor: 29 }, // on by default
  kubeGA: { major: 1, minor: 33 },
  istioSupport: { major: 1, minor: 19 }, // ENABLE_NATIVE_SIDECARS
  istioAnnotation: { major: 1, minor: 24 }, // sidecar.istio.io/nativeSidecar per pod
  istioAuto: { major: 1, minor: 27 }, // ENABLE_NATIVE_SIDECARS=auto: on when the kubelet is ≥ 1.33
});

/**
 * The injection template data's `.NativeSidecars` (SidecarTemplateData, pkg/kube/inject/inject.go:112 at
 * 1.27.0; not in the struct at 1.26.8, inject.go:102-116). Istio's own sidecar template reads it from
 * 1.27.0 (injection-template.yaml:29); 1.24-1.26 test the pod annotation and istiod's env
 * ENABLE_NATIVE_SIDECARS instead (1.26.8 injection-template.yaml:27). On an older istiod a template that
 * reads the field fails to execute (runTemplate, inject.go:579-581), and the webhook answers the error
 * (webhook.go:1175-1178 → toAdmissionResponse :331-332, Allowed false): every pod that selects it is refused.
 */
export const TEMPLATE_NATIVE_SIDECARS = Object.freeze({ field: '.NativeSidecars', version: Object.freeze({ major: 1, minor: 27 }) });

/** Kubernetes' preStop `sleep` action: beta (on by default) in 1.30, GA in 1.34 (KEP-3960). Before it, a delay needs exec sleep. */
export const PRESTOP_SLEEP_ACTION_VERSION = Object.freeze({ major: 1, minor: 30 });

/**
 * pilot-agent's `/drain` on the status port, and its "already drained, exiting immediately" at SIGTERM
 * (istio/istio#47226, 3639a4f, first in 1.21: pilot/cmd/pilot-agent/status/server.go handleDrain,
 * pkg/envoy/agent.go DrainNow/terminate). Before it, a hold's drain at start fails (the hold logs it)
 * and Istio's drain runs after the hold.
 */
export const AGENT_DRAIN_VERSION = Object.freeze({ major: 1, minor: 21 });

/** pilot-agent's status port: health (/app-health), /quitquitquit, /drain (istio/istio pkg/config/constants). */
export const AGENT_STATUS_PORT = 15020;

/**
 * pilot-agent's quit endpoint on the status port (istio/istio@86c9f01 pilot/cmd/pilot-agent/status/server.go:72
 * quitPath). Its handler (server.go:1056-1071) answers 403 unless the request comes from loopback and 405
 * unless it is a POST; then it disables the drain and shuts the agent down: pilot-agent exits at once with
 * no terminationDrainDuration (pkg/envoy/agent.go:114, 142-163). ADR 090.
 */
export const AGENT_QUIT_PATH = '/quitquitquit';

/**
 * The ports `pilot-agent request` may ask, its default (--debug-port 15000: Envoy's admin, which has its own
 * /quitquitquit), and what counts as a failure (istio/istio@86c9f01 pilot/cmd/pilot-agent/app/request.go:29-35,
 * 47-49; pilot/pkg/request/command.go:49-50: a status above 399 other than 404). ADR 091.
 */
export const AGENT_REQUEST_PORTS: readonly number[] = Object.freeze([ENVOY_ADMIN_PORT, AGENT_HEALTH_PORT, AGENT_STATUS_PORT, AGENT_DEBUG_PORT]);
export const agentRequestFails = (status: number): boolean => status > 399 && status !== 404;

/**
 * The preStop Istio's sidecar template gives istio-proxy in native-sidecar mode when
 * `global.proxy.lifecycle` is unset (istio/istio@86c9f01 manifests/charts/istio-control/istio-discovery/files/
 * injection-template.yaml:225-235, the `{{- else if $nativeSidecar }}` branch; the port is
 * `global.proxy.statusPort`, 15020 by default). It starts the drain; it is not a hold. pilot-agent
 * remembers it drained and exits at once on the later SIGTERM (pkg/envoy/agent.go:160-163): meshdrain's
 * hold runs it first for the same reason (ADR 014).
 */
export const NATIVE_DRAIN_PRESTOP: readonly string[] = Object.freeze(['pilot-agent', 'request', `--debug-port=${AGENT_STATUS_PORT}`, 'POST', 'drain']);

/**
 * The injection templates Istio's chart ships in the injector ConfigMap's `templates`
 * (istio/istio@86c9f01 manifests/charts/istio-control/istio-discovery/templates/istiod-injector-configmap.yaml:55-86,
 * each from files/<name>.yaml). A custom template must not take one of these names, and none of them
 * sets a custom preStop hold.
 */
export const ISTIO_TEMPLATES: readonly string[] = Object.freeze([
  'sidecar',
  'gateway',
  'grpc-simple',
  'grpc-agent',
  'waypoint',
  'kube-gateway',
  'agentgateway',
  'agentgateway-waypoint',
]);

/**
 * The templates istiod runs for a pod that names none: the injector config's `defaultTemplates`,
 * `[sidecar]` when unset (istio/istio@86c9f01 pkg/kube/inject/inject.go:139-140 and :183-184; the chart
 * renders `sidecarInjectorWebhook.defaultTemplates`, empty by default, as `[sidecar]`:
 * manifests/charts/istio-control/istio-discovery/templates/istiod-injector-configmap.yaml:31-38).
 */
export const DEFAULT_INJECT_TEMPLATES: readonly string[] = Object.freeze(['sidecar']);

/**
 * Who gets a sidecar, and which data plane a pod is in (docs/adr/060-data-plane-modes.md).
 * Sources: istio/istio pkg/kube/inject/inject.go (injectRequired), initializer.go (IgnoredNamespaces),
 * manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml (selectors),
 * cni/pkg/util/enablement_selector.go (ambient), pkg/kube/inject/webhook.go (overrides).
 */
export const MESH_LABELS = Object.freeze({
  /** Namespace label: `enabled` injects; any other value keeps every injector webhook away. */
  injection: 'istio-injection',
  /** Namespace or pod label naming the control-plane revision. */
  rev: 'istio.io/rev',
  /** Namespace or pod label: `ambient` enrols in ambient; `none` on a pod opts out. */
  dataplaneMode: 'istio.io/dataplane-mode',
  /** Set on Deployments istiod creates for Gateway resources (waypoints, gateways). */
  managedGateway: 'gateway.istio.io/managed',
});

/** Pod annotations Istio's injector writes or reads that are not a user's setting. */
export const INJECTOR_ANNOTATIONS = Object.freeze({
  /** Written by the injector; its presence means "already injected" (cni podHasSidecar reads it). */
  status: 'sidecar.istio.io/status',
  /** JSON {containers, initContainers}: istio-proxy customisations reapplied over the injected proxy. */
  overrides: 'proxy.istio.io/overrides',
});

/** Namespaces injectRequired never injects (initializer.go IgnoredNamespaces). */
export const IGNORED_NAMESPACES: readonly string[] = Object.freeze(['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);

/** The image name that tells the injector "keep the injected image" (webhook.go AutoImage). */
export const AUTO_IMAGE = 'auto';
/** Istio's injection template for gateways: the proxy is the workload. */
export const GATEWAY_TEMPLATE = 'gateway';

/**
 * Istio's default retry policy on every HTTP route it writes for sidecar outbound traffic and gateways
 * when no VirtualService sets `retries` (pilot/pkg/networking/core/route/retry/retry.go `DefaultPolicy`,
 * `ConvertPolicy(nil)`): 2 retries on connect-failure, refused-stream, unavailable and cancelled (gRPC
 * status 14 / 1), `retriable-status-codes` with no codes since istio/istio#52111 (Istio 1.24: 503 is no
 * longer retried), another host per retry (`envoy.retry_host_predicates.previous_hosts`, up to 5 host
 * selections). Inbound routes (the pod's own Envoy → its app) get another since Istio 1.24:
 * `reset-before-request`, 2 retries, not on gRPC ports (retry.go `defaultInboundRetryOn`, route.go
 * `BuildDefaultHTTPInboundRoute`); the lab does not model that one (ADR 078). Envoy's default back-off: fully jittered, base 25 ms, capped at
 * 10× base (envoy api route.proto RetryPolicy.RetryBackOff). Istio lifts Envoy's default of 3 concurrent
 * retries per cluster to MaxUint32 (cluster_traffic_policy.go `getDefaultCircuitBreakerThresholds`),
 * so no retry budget applies.
 */
export const ISTIO_DEFAULT_RETRY = Object.freeze({
  numRetries: 2,
  retryOn: Object.freeze(['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes']),
  retriableStatusCodes: Object.freeze([] as number[]),
  hostSelectionRetryMaxAttempts: 5,
  backoffBaseMs: 25,
  backoffMaxMs: 250,
});
