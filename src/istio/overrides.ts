/**
 * The `proxy.istio.io/overrides` annotation: istio-proxy customisations Istio's injector reapplies
 * over the injected proxy (pkg/kube/inject/webhook.go reapplyOverwrittenContainers; ADR 061).
 * JSON `{"containers":[…],"initContainers":[…]}`: `containers` is read for a classic sidecar,
 * `initContainers` for a native one. On a pod that is never injected it does nothing.
 */
import { InputError, type SourcePos } from '../errors.js';
import { isRecord, type Container, type Handler, type PodTemplate } from '../model/workload.js';
import { valueKey } from '../model/value-key.js';
import { AUTO_IMAGE, INJECTOR_ANNOTATIONS, PROXY_CONTAINER } from './facts.js';

export interface ProxyOverrides {
  containers?: Container[];
  initContainers?: Container[];
}

function containerList(v: unknown, key: string, where?: SourcePos): Container[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((c) => isRecord(c) && typeof c.name === 'string')) {
    throw new InputError(`${INJECTOR_ANNOTATIONS.overrides}: ${key} must be a list of containers with names`, where);
  }
  return v as Container[];
}

/** Parse the annotation as Istio does (json.Unmarshal into ParsedContainers); bad JSON is the user's error. */
export function parseOverrides(text: string | undefined, where?: SourcePos): ProxyOverrides {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${INJECTOR_ANNOTATIONS.overrides}: not JSON (${(e as Error).message}); Istio's injector would refuse this pod`, where);
  }
  if (!isRecord(v)) throw new InputError(`${INJECTOR_ANNOTATIONS.overrides}: expected a JSON object {"containers": [...], "initContainers": [...]}`, where);
  const out: ProxyOverrides = {};
  const containers = containerList(v.containers, 'containers', where);
  const initContainers = containerList(v.initContainers, 'initContainers', where);
  if (containers) out.containers = containers;
  if (initContainers) out.initContainers = initContainers;
  return out;
}

/** istio-proxy's entry for one sidecar kind. */
export function proxyOverride(o: ProxyOverrides, kind: 'classic' | 'native'): Container | undefined {
  return (kind === 'native' ? o.initContainers : o.containers)?.find((c) => c.name === PROXY_CONTAINER);
}

/**
 * Set istio-proxy's entry for each given kind, keeping every other entry and field as it was; returns
 * the annotation text. Compact JSON, keys in a fixed order, so a second run writes the same bytes.
 */
export function withProxyOverrides(existing: string | undefined, entries: { classic?: Container; native?: Container }, where?: SourcePos): string {
  // The same hold on a thousand pods: the ~10 KB JSON is written once (bad input throws before it is kept).
  const key = valueKey([existing ?? null, entries]);
  const hit = written.get(key);
  if (hit !== undefined) return hit;
  const out = writeProxyOverrides(existing, entries, where);
  if (written.size >= 1000) written.clear();
  written.set(key, out);
  return out;
}

const written = new Map<string, string>();

function writeProxyOverrides(existing: string | undefined, entries: { classic?: Container; native?: Container }, where?: SourcePos): string {
  const o = parseOverrides(existing, where);
  const put = (list: Container[] | undefined, c: Container): Container[] => {
    const out = [...(list ?? [])];
    const i = out.findIndex((x) => x.name === PROXY_CONTAINER);
    if (i >= 0) out[i] = { ...out[i], ...c, name: PROXY_CONTAINER };
    else out.push(c);
    return out;
  };
  const next: ProxyOverrides = {};
  const containers = entries.classic ? put(o.containers, entries.classic) : o.containers;
  const initContainers = entries.native ? put(o.initContainers, entries.native) : o.initContainers;
  if (containers) next.containers = containers;
  if (initContainers) next.initContainers = initContainers;
  return JSON.stringify(next);
}

/**
 * The annotation without meshdrain's own istio-proxy entries for the given kinds: `own` says which
 * preStop is meshdrain's (the caller recognises what meshdrain renders). Only meshdrain's part goes:
 * the preStop, and the shell mount it added (`shellVolume`); an entry left with only its name is
 * dropped, every other entry and field kept. undefined = nothing of meshdrain's there (no edit).
 * An annotation left empty is `{}`: Istio reads it as no overrides (webhook.go reapplyOverwrittenContainers).
 */
export function withoutOwnProxyEntries(
  existing: string | undefined,
  kinds: readonly ('classic' | 'native')[],
  own: (kind: 'classic' | 'native', preStop: Handler) => boolean,
  shellVolume: string,
  where?: SourcePos,
): string | undefined {
  if (existing === undefined) return undefined;
  const o = parseOverrides(existing, where);
  let changed = false;
  const strip = (list: Container[] | undefined, kind: 'classic' | 'native'): Container[] | undefined => {
    if (!list) return list;
    return list.flatMap((c) => {
      const pre = c.lifecycle?.preStop;
      if (c.name !== PROXY_CONTAINER || pre === undefined || !own(kind, pre)) return [c];
      changed = true;
      const rest: Container = { ...c };
      const { preStop: _, ...lifecycle } = c.lifecycle!;
      if (Object.keys(lifecycle).length) rest.lifecycle = lifecycle;
      else delete rest.lifecycle;
      const mounts = (Array.isArray(c.volumeMounts) ? (c.volumeMounts as unknown[]) : []).filter((m) => !isRecord(m) || m.name !== shellVolume);
      if (mounts.length) rest.volumeMounts = mounts;
      else delete rest.volumeMounts;
      return Object.keys(rest).length > 1 ? [rest] : [];
    });
  };
  const next: ProxyOverrides = {};
  const containers = kinds.includes('classic') ? strip(o.containers, 'classic') : o.containers;
  const initContainers = kinds.includes('native') ? strip(o.initContainers, 'native') : o.initContainers;
  if (!changed) return undefined;
  if (containers?.length) next.containers = containers;
  if (initContainers?.length) next.initContainers = initContainers;
  return JSON.stringify(next);
}

/**
 * The container Istio merges over its injected istio-proxy, as reapplyOverwrittenContainers picks
 * it: the annotation's entry first, else the pod's own istio-proxy (containers, then init
 * containers for a native proxy), with `image: auto` cleared. undefined = Istio's proxy as templated.
 */
export function istioProxyOverlay(pod: PodTemplate, kind: 'classic' | 'native', where?: SourcePos): Container | undefined {
  const fromAnnotation = proxyOverride(parseOverrides(pod.metadata?.annotations?.[INJECTOR_ANNOTATIONS.overrides], where), kind);
  const spec = pod.spec ?? {};
  const fromPod = (spec.containers ?? []).find((c) => c.name === PROXY_CONTAINER) ?? (kind === 'native' ? (spec.initContainers ?? []).find((c) => c.name === PROXY_CONTAINER) : undefined);
  const match = fromAnnotation ?? fromPod;
  if (!match) return undefined;
  const overlay = structuredClone(match);
  if (overlay.image === AUTO_IMAGE) delete overlay.image;
  return overlay;
}
