/** Validate workloads against the Kubernetes OpenAPI schemas (kubernetes-models). */
import { Pod } from 'kubernetes-models/v1/Pod';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { isRecord } from '../../src/model/workload.js';

type Model = new (data: never) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Pod': Pod as unknown as Model,
  'apps/v1/Deployment': Deployment as unknown as Model,
  'apps/v1/StatefulSet': StatefulSet as unknown as Model,
  'apps/v1/DaemonSet': DaemonSet as unknown as Model,
  'apps/v1/ReplicaSet': ReplicaSet as unknown as Model,
  'batch/v1/Job': Job as unknown as Model,
  'batch/v1/CronJob': CronJob as unknown as Model,
};

/** Schema errors for a workload (or the items of a List); [] when valid or not a modelled kind. */
export function validateWorkload(value: unknown): string[] {
  if (!isRecord(value)) return [];
  if (value.kind === 'List' && Array.isArray(value.items)) return value.items.flatMap(validateWorkload);
  const M = MODELS[`${String(value.apiVersion)}/${String(value.kind)}`];
  if (!M) return [];
  try {
    new M(value as never).validate();
    return [];
  } catch (e) {
    return [`${String(value.kind)}/${String((value.metadata as { name?: string })?.name)}: ${(e as Error).message.slice(0, 500)}`];
  }
}
