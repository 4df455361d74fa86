/**
 * Which Istio data plane a pod template will be in, and why: classic sidecar, native sidecar,
 * ambient, gateway (the proxy is the workload), none (not meshed), or unknown (the input cannot
 * tell). Pure. Each rule is Istio's own, cited in docs/adr/060-data-plane-modes.md:
 * - injectRequired (pkg/kube/inject/inject.go): hostNetwork, IgnoredNamespaces, the pod's
 *   `sidecar.istio.io/inject` label (preferred) or annotation, the injector's default policy;
 * - the webhook's namespace and object selectors (istio-discovery templates/mutatingwebhook.yaml);
 * - native or classic: the pod annotation (Istio ≥ 1.24), else ENABLE_NATIVE_SIDECARS
 *   (auto since 1.27: native when the kubelet is ≥ 1.33, DetectNativeSidecar in webhook.go);
 * - ambient: the CNI's enablement selectors, and a sidecar wins (podHasSidecar).
 * Namespace objects seen in the input are evidence, not proof (a `kubectl label` survives a later
 * `kubectl apply` of the same Namespace); reasons say where a decision came from.
 */
import { ANNOTATIONS, AUTO_IMAGE, DEFAULT_INJECT_TEMPLATES, GATEWAY_TEMPLATE, IGNORED_NAMESPACES, INJECTOR_ANNOTATIONS, MESH_LABELS, NATIVE_SIDECAR_VERSIONS as NATIVE, PROXY_CONTAINER } from '../istio/facts.js';
import { atLeast, formatVersion, type Version } from '../model/version.js';
import type { PodTemplate } from '../model/workload.js';

import type { DataPlaneMode, ModeBy, ModeDecision } from '../model/data-plane.js';

export type { DataPlaneMode, ModeBy, ModeDecision };

/** A Namespace object found in the same input stream. */
export interface NamespaceEvidence {
  name: string;
  labels: Record<string, string>;
  /** file:line where it was read, for reasons. */
  where: string;
}

/** What a manifest cannot tell, given once for the run (flags, --mesh-config, the input's Namespaces). */
export interface ModeContext {
  istioVersion?: Version;
  /** The lowest kubelet version in the cluster. */
  kubeVersion?: Version;
  /** pilot's ENABLE_NATIVE_SIDECARS, from the mesh config. */
  nativeSidecars?: 'true' | 'false' | 'auto';
  /** Where ENABLE_NATIVE_SIDECARS was set, for reasons ("IstioOperator pilot env"). */
  nativeSidecarsSource?: string;
  /** sidecarInjectorWebhook.enableNamespacesByDefault (adds the `auto.` webhook). */
  enableNamespacesByDefault?: boolean;
  /** The injector's default policy (config `policy`): disabled injects only pods that ask. */
  injectionPolicy?: 'enabled' | 'disabled';
  namespaces?: ReadonlyMap<string, NamespaceEvidence>;
  /**
   * Judge a pod the input cannot place as injected (lint and the lab judge pods as meshed unless the
   * input shows otherwise). inject never sets it: its output must be safe either way.
   */
  assumeInjection?: boolean;
}

export interface ModeInput {
  pod: PodTemplate;
  /** The workload's namespace (metadata.namespace), if the manifest names it. */
  namespace?: string;
}

/**
 * The injection templates istiod runs for a pod, in order: `inject.istio.io/templates` when the pod
 * has it, else the injector's `defaultTemplates` (istio/istio@86c9f01 pkg/kube/inject/inject.go:553-563
 * selectTemplates; aliases, :565-575, are not resolved: meshdrain reads no `aliases`). Empty names are
 * dropped. The one reading of the annotation for the derivation, lint, inject and the lab.
 */
export function podTemplates(annotations: Readonly<Record<string, string>>, defaultTemplates: readonly string[] = DEFAULT_INJECT_TEMPLATES): string[] {
  const raw = annotations[ANNOTATIONS.templates];
  if (raw === undefined) return [...defaultTemplates];
  return raw.split(',').map((t) => t.trim()).filter(Boolean);
}

type Kind = { kind: 'classic' | 'native' | 'either'; why: string; by: ModeBy };

/**
 * Native or classic for a pod that gets a sidecar. A kubelet before 1.29 has no native sidecars
 * (KEP-753 beta), whatever Istio is told.
 */
export function sidecarKind(annotations: Record<string, string>, ctx: ModeContext): Kind {
  if (atLeast(ctx.kubeVersion, NATIVE.kubeBeta.major, NATIVE.kubeBeta.minor) === false) {
    return { kind: 'classic', why: `Kubernetes ${formatVersion(ctx.kubeVersion!)} has no native sidecars (${formatVersion(NATIVE.kubeBeta)}+)`, by: 'versions' };
  }
  const ann = annotations[ANNOTATIONS.nativeSidecar];
  const annotationRead = atLeast(ctx.istioVersion, NATIVE.istioAnnotation.major, NATIVE.istioAnnotation.minor) !== false;
  if ((ann === 'true' || ann === 'false') && annotationRead) {
    return { kind: ann === 'true' ? 'native' : 'classic', why: `${ANNOTATIONS.nativeSidecar}: "${ann}"`, by: 'annotation' };
  }
  const ignored = ann === 'true' || ann === 'false' ? `; ${ANNOTATIONS.nativeSidecar} is ignored before Istio ${formatVersion(NATIVE.istioAnnotation)}` : '';
  let env = ctx.nativeSidecars;
  let envFrom = `ENABLE_NATIVE_SIDECARS from ${ctx.nativeSidecarsSource ?? 'the mesh config'}`;
  let by: ModeBy = 'mesh';
  if (env === 'true' && atLeast(ctx.istioVersion, NATIVE.istioSupport.major, NATIVE.istioSupport.minor) === false) {
    return { kind: 'classic', why: `ENABLE_NATIVE_SIDECARS needs Istio ${formatVersion(NATIVE.istioSupport)}+ (Istio ${formatVersion(ctx.istioVersion!)})${ignored}`, by: 'versions' };
  }
  if (env === undefined && ctx.istioVersion) {
    env = atLeast(ctx.istioVersion, NATIVE.istioAuto.major, NATIVE.istioAuto.minor) ? 'auto' : 'false';
    // A subject for '… is false' / '… is auto and …' below: 'ENABLE_NATIVE_SIDECARS, Istio 1.24's default, is false'.
    envFrom = `ENABLE_NATIVE_SIDECARS, Istio ${formatVersion(ctx.istioVersion)}'s default,`;
    by = 'versions';
  }
  if (env === 'true' || env === 'false') return { kind: env === 'true' ? 'native' : 'classic', why: `${envFrom} is ${env}${ignored}`, by };
  const kubeNative = atLeast(ctx.kubeVersion, NATIVE.kubeGA.major, NATIVE.kubeGA.minor);
  if (env === 'auto') {
    if (kubeNative === undefined) return { kind: 'either', why: `${envFrom} is auto and the kubelet version is not known (--kube-version)${ignored}`, by: 'assumed' };
    return { kind: kubeNative ? 'native' : 'classic', why: `${envFrom} is auto and the kubelet is ${formatVersion(ctx.kubeVersion!)} (native from ${formatVersion(NATIVE.kubeGA)})${ignored}`, by: 'versions' };
  }
  // Neither Istio's version nor its settings are known: before 1.27 the default is classic, after it
  // native on kubelets ≥ 1.33. An older kubelet is classic either way.
  if (kubeNative === false) return { kind: 'classic', why: `the kubelet is ${formatVersion(ctx.kubeVersion!)}, below ${formatVersion(NATIVE.kubeGA)}, where Istio's default is classic${ignored}`, by: 'versions' };
  return { kind: 'either', why: `the Istio version and ENABLE_NATIVE_SIDECARS are not known (--istio-version, --mesh-config)${ignored}`, by: 'assumed' };
}

/** The pod's `sidecar.istio.io/inject`: the label wins over the annotation (injectRequired). */
function podInjectSelector(pod: PodTemplate): { value?: string; source: string } {
  const label = pod.metadata?.labels?.[ANNOTATIONS.inject];
  if (label !== undefined) return { value: label, source: `label ${ANNOTATIONS.inject}` };
  const ann = pod.metadata?.annotations?.[ANNOTATIONS.inject];
  return { value: ann, source: `annotation ${ANNOTATIONS.inject}` };
}

/** Is istio-proxy already injected (istioctl kube-inject output, or a pod read back from a cluster)? */
function injectedProxy(pod: PodTemplate): 'classic' | 'native' | undefined {
  const spec = pod.spec ?? {};
  const init = (spec.initContainers ?? []).find((c) => c.name === PROXY_CONTAINER);
  if (init && init.restartPolicy === 'Always' && init.image !== AUTO_IMAGE) return 'native';
  const main = (spec.containers ?? []).find((c) => c.name === PROXY_CONTAINER);
  if (main && main.image !== undefined && main.image !== AUTO_IMAGE) return 'classic';
  if (pod.metadata?.annotations?.[INJECTOR_ANNOTATIONS.status] !== undefined) return init ? 'native' : 'classic';
  return undefined;
}

type Injection = { injection: 'yes' | 'no' | 'maybe'; why: string; by?: ModeBy };

/** Does the injector webhook reach this pod, and does injectRequired then say yes? */
function injectionFor(input: ModeInput, ctx: ModeContext): Injection & { ambient?: string } {
  const { pod, namespace } = input;
  const labels = pod.metadata?.labels ?? {};
  if (pod.spec?.hostNetwork === true) return { injection: 'no', why: 'hostNetwork: true (Istio never injects host-network pods: injectRequired)' };
  if (namespace !== undefined && IGNORED_NAMESPACES.includes(namespace)) {
    return { injection: 'no', why: `namespace ${namespace} is one Istio never injects (IgnoredNamespaces)` };
  }
  const sel = podInjectSelector(pod);
  if (sel.value === 'false') return { injection: 'no', why: `${sel.source} is "false"` };
  const asks = sel.value === 'true';
  const podAmbient = labels[MESH_LABELS.dataplaneMode] === 'ambient';
  const podOptsOutOfAmbient = labels[MESH_LABELS.dataplaneMode] === 'none';
  // The injector's policy: disabled injects only pods that ask (injectRequired, InjectionPolicyDisabled).
  const policyDisabled = ctx.injectionPolicy === 'disabled' && !asks;

  const ns = namespace !== undefined ? ctx.namespaces?.get(namespace) : undefined;
  if (ns) {
    const nl = ns.labels;
    const from = `Namespace ${ns.name} (${ns.where})`;
    let reached: Injection;
    if (nl[MESH_LABELS.injection] !== undefined) {
      reached =
        nl[MESH_LABELS.injection] === 'enabled'
          ? { injection: 'yes', why: `${from} has ${MESH_LABELS.injection}=enabled` }
          : { injection: 'no', why: `${from} has ${MESH_LABELS.injection}=${nl[MESH_LABELS.injection]}: no injector webhook selects it` };
    } else if (nl[MESH_LABELS.rev] !== undefined) {
      reached = { injection: 'yes', why: `${from} has ${MESH_LABELS.rev}=${nl[MESH_LABELS.rev]} (that revision must be installed)` };
    } else if (labels[MESH_LABELS.rev] !== undefined) {
      reached = { injection: 'yes', why: `pod label ${MESH_LABELS.rev}=${labels[MESH_LABELS.rev]} in ${from}, which has no injection label` };
    } else if (pod.metadata?.labels?.[ANNOTATIONS.inject] === 'true') {
      reached = { injection: 'yes', why: `pod label ${ANNOTATIONS.inject}=true in ${from}, which has no injection label` };
    } else if (ctx.enableNamespacesByDefault) {
      reached = { injection: 'yes', why: `enableNamespacesByDefault is on and ${from} has no injection label` };
    } else {
      reached = { injection: 'no', why: `${from} has neither ${MESH_LABELS.injection} nor ${MESH_LABELS.rev}, and the pod has no ${ANNOTATIONS.inject}=true label` };
    }
    if (reached.injection === 'yes' && policyDisabled) reached = { injection: 'no', why: `${reached.why}, but the injector's policy is disabled and the pod does not ask` };
    if (reached.injection === 'no' && !podOptsOutOfAmbient && (podAmbient || nl[MESH_LABELS.dataplaneMode] === 'ambient')) {
      return { ...reached, by: 'namespace', ambient: podAmbient ? `pod label ${MESH_LABELS.dataplaneMode}=ambient` : `${from} has ${MESH_LABELS.dataplaneMode}=ambient` };
    }
    return { ...reached, by: 'namespace' };
  }

  // No Namespace object for this pod: only the pod's own labels and the run's settings speak.
  const where = namespace === undefined ? 'the manifest names no namespace' : `no Namespace ${namespace} in the input`;
  if (podAmbient && !asks) return { injection: 'no', why: `${where}; a sidecar would still win if that namespace injects (podHasSidecar)`, ambient: `pod label ${MESH_LABELS.dataplaneMode}=ambient` };
  if (policyDisabled) return { injection: 'no', why: `the injector's policy is disabled and the pod does not ask (${ANNOTATIONS.inject})`, by: 'mesh' };
  if (pod.metadata?.labels?.[ANNOTATIONS.inject] === 'true' || labels[MESH_LABELS.rev] !== undefined) {
    const l = labels[MESH_LABELS.rev] !== undefined ? `${MESH_LABELS.rev}=${labels[MESH_LABELS.rev]}` : `${ANNOTATIONS.inject}=true`;
    return { injection: 'yes', why: `pod label ${l} selects the injector (${where}; only ${MESH_LABELS.injection}=disabled on it would stop that)` };
  }
  if (ctx.enableNamespacesByDefault) return { injection: 'yes', why: `enableNamespacesByDefault is on (${where})` };
  if (ctx.assumeInjection) return { injection: 'yes', why: `assumed injected (${where}; injection depends on its labels)`, by: 'assumed' };
  return { injection: 'maybe', why: `${where}: injection depends on its labels` };
}

/** The data-plane mode of one pod template, with the reason. */
export function classifyMode(input: ModeInput, ctx: ModeContext = {}): ModeDecision {
  const { pod } = input;
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};

  const managed = labels[MESH_LABELS.managedGateway];
  if (managed !== undefined) {
    return { mode: 'gateway', reason: `istiod manages this Deployment (${MESH_LABELS.managedGateway}=${managed}); leave it to istiod`, by: 'pod', injection: 'yes', managed: true };
  }
  if (podTemplates(annotations).includes(GATEWAY_TEMPLATE)) {
    return { mode: 'gateway', reason: `${ANNOTATIONS.templates} selects the ${GATEWAY_TEMPLATE} template: the proxy is the workload`, by: 'pod', injection: 'yes' };
  }
  // A pod whose only container is istio-proxy (istioctl's gateway Deployments; Istio's own
  // only-proxy-container.yaml injection test) runs the proxy as its workload: there is no app to wait for.
  // Injected natively, the same pod has `containers: []` and istio-proxy as a sidecar init container
  // (the injector moves the user's istio-proxy there, pkg/kube/inject/inject.go RunTemplate moveContainer;
  // Istio's only-proxy-container.yaml.injected): still no app, still a gateway.
  const containers = pod.spec?.containers ?? [];
  const nativeProxyOnly = containers.length === 0 && (pod.spec?.initContainers ?? []).some((c) => c.name === PROXY_CONTAINER && c.restartPolicy === 'Always');
  if ((containers.length > 0 && containers.every((c) => c.name === PROXY_CONTAINER)) || nativeProxyOnly) {
    return { mode: 'gateway', reason: `${PROXY_CONTAINER} is its only container${nativeProxyOnly ? ' (injected as a sidecar init container, with no app container)' : ''}: the proxy is the workload`, by: 'pod', injection: 'yes' };
  }
  const already = injectedProxy(pod);
  if (already) {
    return { mode: already, reason: `istio-proxy is already injected${already === 'native' ? ' as a native sidecar (init container, restartPolicy: Always)' : ''}`, by: 'injected', injection: 'yes', sidecar: already };
  }

  const inj = injectionFor(input, ctx);
  if (inj.injection === 'no') {
    if (inj.ambient) return { mode: 'ambient', reason: `${inj.ambient}; no sidecar: ${inj.why}`, by: inj.by ?? 'pod', injection: 'no' };
    return { mode: 'none', reason: `not meshed: ${inj.why}`, by: inj.by ?? 'pod', injection: 'no' };
  }
  const kind = sidecarKind(annotations, ctx);
  if (inj.injection === 'maybe') return { mode: 'unknown', reason: `injection may or may not happen: ${inj.why}; if injected, ${kind.kind === 'either' ? `native or classic: ${kind.why}` : `${kind.kind}: ${kind.why}`}`, by: 'assumed', injection: 'maybe', sidecar: kind.kind };
  if (kind.kind === 'either') return { mode: 'unknown', reason: `${inj.why}; native or classic unknown: ${kind.why}`, by: 'assumed', injection: 'yes', sidecar: 'either' };
  return { mode: kind.kind, reason: `${kind.kind} sidecar: ${inj.why}; ${kind.why}`, by: inj.by === 'assumed' && kind.by === 'assumed' ? 'assumed' : kind.by, injection: 'yes', sidecar: kind.kind };
}
