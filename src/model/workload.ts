/** The pod-template view of every workload kind meshdrain understands. Works on plain objects. */
import { ANNOTATIONS, PROXY_CONTAINER } from '../istio/facts.js';

export type Path = (string | number)[];

/** Where each workload kind keeps its pod template (the object with `metadata` and `spec`). */
const TEMPLATE_PATHS: Record<string, Path> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  Rollout: ['spec', 'template'], // argoproj.io
};

export const WORKLOAD_KINDS = Object.freeze(Object.keys(TEMPLATE_PATHS));

/** Edits (insert, delete, substitute, swap two neighbours) from a to b, case-insensitive. */
function editDistance(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[x.length]![y.length]!;
}

/**
 * The workload kind a kind that is none was probably meant to be (`Deploymnet`, `deployment`, `Jobs`):
 * such a document passes through unedited, which the user should hear. One edit away for short kinds
 * (Node is two from Pod), two for longer ones.
 */
export function nearWorkloadKind(kind: string): string | undefined {
  if (!kind || Object.hasOwn(TEMPLATE_PATHS, kind)) return undefined;
  return WORKLOAD_KINDS.find((k) => editDistance(kind, k) <= (k.length <= 4 ? 1 : 2));
}

export interface PodTemplateSite {
  kind: string;
  apiVersion: string;
  name: string;
  namespace?: string;
  /** Labels of the workload object itself (for policy matching). */
  labels: Record<string, string>;
  /** Path from the document root to the pod template (object with metadata and spec). */
  templatePath: Path;
  /** Job, CronJob, or a bare Pod with restartPolicy Never/OnFailure: the pod must complete, so a classic sidecar keeps it alive forever. */
  isJobLike: boolean;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: PodSpec;
  [k: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  lifecycle?: { preStop?: Handler; postStart?: Handler; [k: string]: unknown };
  [k: string]: unknown;
}
export interface Handler {
  exec?: { command?: string[] };
  sleep?: { seconds: number };
  httpGet?: unknown;
  [k: string]: unknown;
}
export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  volumes?: unknown[];
  [k: string]: unknown;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function getPath(root: unknown, path: Path): unknown {
  let v = root;
  for (const k of path) {
    if (Array.isArray(v) && typeof k === 'number') v = v[k];
    else if (isRecord(v) && typeof k === 'string') v = v[k];
    else return undefined;
  }
  return v;
}

const asStringMap = (v: unknown): Record<string, string> =>
  isRecord(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string> : {};

/** Every pod template in a manifest object (a workload, or a `kind: List` of them). */
export function podTemplateSites(obj: unknown, prefix: Path = []): PodTemplateSite[] {
  if (!isRecord(obj)) return [];
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  if ((kind === 'List' || kind.endsWith('List')) && Array.isArray(obj.items)) {
    return obj.items.flatMap((item, i) => podTemplateSites(item, [...prefix, 'items', i]));
  }
  const rel = TEMPLATE_PATHS[kind];
  if (!rel) return [];
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  if (kind === 'Rollout' && !apiVersion.startsWith('argoproj.io/')) return [];
  const template = getPath(obj, rel);
  if (!isRecord(template) || !isRecord(template.spec)) return []; // e.g. a Rollout with workloadRef
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  return [
    {
      kind,
      apiVersion,
      name: typeof meta.name === 'string' ? meta.name : '',
      namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
      labels: asStringMap(meta.labels),
      templatePath: [...prefix, ...rel],
      // A bare Pod that runs to completion (a Helm test hook) is a Job in all but name.
      isJobLike: kind === 'Job' || kind === 'CronJob' || (kind === 'Pod' && (getPath(template, ['spec', 'restartPolicy']) === 'Never' || getPath(template, ['spec', 'restartPolicy']) === 'OnFailure')),
    },
  ];
}

/** Is this pod opted out of injection (`sidecar.istio.io/inject: "false"` label or annotation)? */
export function injectionDisabled(pod: PodTemplate): boolean {
  const v = pod.metadata?.labels?.[ANNOTATIONS.inject] ?? pod.metadata?.annotations?.[ANNOTATIONS.inject];
  return typeof v === 'string' && v.toLowerCase() === 'false';
}

/** A short human name for messages: "Deployment/web". */
export function siteName(site: PodTemplateSite): string {
  return `${site.kind}/${site.name || '(unnamed)'}`;
}

/** The first field of a pod template whose type Kubernetes would reject, relative to the template. */
export function podTemplateProblem(pod: unknown): { path: Path; message: string } | undefined {
  const bad = (path: Path, message: string) => ({ path, message });
  if (!isRecord(pod)) return bad([], 'the pod template must be a mapping');
  if (pod.metadata !== undefined && pod.metadata !== null) {
    if (!isRecord(pod.metadata)) return bad(['metadata'], 'metadata must be a mapping');
    for (const key of ['labels', 'annotations'] as const) {
      const m = pod.metadata[key];
      if (m === undefined || m === null) continue;
      if (!isRecord(m)) return bad(['metadata', key], `metadata.${key} must be a mapping of strings`);
      const k = Object.keys(m).find((x) => typeof m[x] !== 'string');
      if (k !== undefined) return bad(['metadata', key, k], `metadata.${key}.${k} must be a string (quote it: "${String(m[k])}")`);
    }
  }
  if (!isRecord(pod.spec)) return bad(['spec'], 'spec must be a mapping');
  const spec = pod.spec;
  const grace = spec.terminationGracePeriodSeconds;
  if (grace !== undefined && grace !== null && !(Number.isInteger(grace) && (grace as number) >= 0)) {
    return bad(['spec', 'terminationGracePeriodSeconds'], 'terminationGracePeriodSeconds must be a whole number of seconds');
  }
  for (const list of ['containers', 'initContainers', 'volumes'] as const) {
    const v = spec[list];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v)) return bad(['spec', list], `spec.${list} must be a list`);
    if (list === 'volumes') continue;
    for (let i = 0; i < v.length; i++) {
      const c: unknown = v[i];
      if (!isRecord(c)) return bad(['spec', list, i], `spec.${list}[${i}] must be a mapping (a container)`);
      if (typeof c.name !== 'string') return bad(['spec', list, i], `spec.${list}[${i}] needs a name`);
      if (c.lifecycle !== undefined && c.lifecycle !== null) {
        if (!isRecord(c.lifecycle)) return bad(['spec', list, i, 'lifecycle'], `${c.name}: lifecycle must be a mapping`);
        const p = c.lifecycle.preStop;
        if (p !== undefined && p !== null && !isRecord(p)) return bad(['spec', list, i, 'lifecycle', 'preStop'], `${c.name}: lifecycle.preStop must be a mapping`);
        // The API server rejects a non-integer sleep (int64): read as a number it would count as no delay.
        const sleep = isRecord(p) ? p.sleep : undefined;
        if (sleep !== undefined && sleep !== null) {
          if (!isRecord(sleep)) return bad(['spec', list, i, 'lifecycle', 'preStop', 'sleep'], `${c.name}: lifecycle.preStop.sleep must be a mapping`);
          if (!(Number.isInteger(sleep.seconds) && (sleep.seconds as number) >= 0)) {
            return bad(['spec', list, i, 'lifecycle', 'preStop', 'sleep', 'seconds'], `${c.name}: lifecycle.preStop.sleep.seconds must be a whole number of seconds${typeof sleep.seconds === 'string' ? ` (unquote it: ${sleep.seconds})` : ''}`);
          }
        }
      }
      if (c.volumeMounts !== undefined && c.volumeMounts !== null && !Array.isArray(c.volumeMounts)) {
        return bad(['spec', list, i, 'volumeMounts'], `${c.name}: volumeMounts must be a list`);
      }
    }
  }
  return undefined;
}

/**
 * Kinds the API server validates with Kubernetes' own pod-spec validation (a Pod, or a workload whose
 * template goes through ValidatePodTemplateSpec). A Rollout is a custom resource: its schema (the
 * OpenAPI core/v1 Container) leaves `image` optional, so a missing one says nothing there.
 */
const CORE_VALIDATED_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob']);

/**
 * Is this pod template a patch fragment (a kustomize strategic-merge patch, a partial object some tool
 * merges into a base) rather than an object the API server would accept? The one signal inject, lint and
 * both KRM doors share (ADR 083 addendum, session 9): a container or init container with no `image`.
 * Kubernetes requires one for every container of a Pod and of a built-in workload's template
 * (kubernetes/kubernetes@000f260 pkg/apis/core/validation/validation.go validateContainerCommon:
 * `if len(ctr.Image) == 0 { field.Required(path.Child("image"), "") }`, reached from validateContainers,
 * "called by pod spec and template validation", and for init containers), so no real object of those
 * kinds lacks one. (An empty `containers` list is rejected too, but istioctl kube-inject writes one for a
 * gateway whose proxy became a native sidecar, fixtures/inject/real/istio-inject-only-proxy-container:
 * not used.)
 * A bare Pod's istio-proxy may leave `image` out: the sidecar injector, a mutating webhook that runs before
 * validation, fills it from its template. Returns where (relative to the template) and why, or undefined.
 */
export function patchFragment(kind: string, pod: unknown): { path: Path; why: string } | undefined {
  if (!CORE_VALIDATED_KINDS.has(kind) || !isRecord(pod) || !isRecord(pod.spec)) return undefined;
  for (const list of ['containers', 'initContainers'] as const) {
    const v = pod.spec[list];
    if (!Array.isArray(v)) continue;
    for (let i = 0; i < v.length; i++) {
      const c: unknown = v[i];
      if (!isRecord(c)) continue; // podTemplateProblem's to report
      if (kind === 'Pod' && c.name === PROXY_CONTAINER) continue;
      if (c.image === undefined || c.image === null || c.image === '') {
        return { path: ['spec', list, i], why: `${list === 'initContainers' ? 'init container' : 'container'} ${typeof c.name === 'string' ? c.name : `#${i}`} has no image` };
      }
    }
  }
  return undefined;
}

/** The note inject and lint give a patch fragment they leave alone (with the file:line:col and workload before it). */
export function patchFragmentNote(why: string): string {
  return `${why}: a patch fragment (a kustomize patch merges it into a base), not an object the API server accepts: left unchanged and not judged; run meshdrain on kubectl kustomize output, or as a kustomize transformer`;
}
