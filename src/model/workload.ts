/** The pod-template view of every workload kind meshdrain understands. Works on plain objects. */
import { ANNOTATIONS } from '../istio/facts.js';

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

export interface PodTemplateSite {
  kind: string;
  apiVersion: string;
  name: string;
  namespace?: string;
  /** Labels of the workload object itself (for policy matching). */
  labels: Record<string, string>;
  /** Path from the document root to the pod template (object with metadata and spec). */
  templatePath: Path;
  /** Job or CronJob: the pod must complete, so a classic sidecar keeps it alive forever. */
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
      isJobLike: kind === 'Job' || kind === 'CronJob',
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
