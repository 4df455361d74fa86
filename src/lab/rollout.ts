/**
 * A workload's rolling update as the lab replays it: replicas, maxSurge and maxUnavailable resolved the
 * way the controllers resolve them, capped to what one machine runs, and the waves of pod starts and
 * terminations that follow from them (ADR 070). Pure.
 */

/** The most pods one lab rollout runs at a time per generation (2 processes and a netns each). */
export const LAB_MAX_REPLICAS = 5;

/** The built-in scenarios' rollout: --replicas pods, one new at a time (maxSurge 1, maxUnavailable 0). */
export function builtinRollout(replicas: number): Omit<RolloutShape, 'notes'> {
  return { replicas, maxSurge: 1, maxUnavailable: 0, replaceAfterExit: false };
}

export type IntOrPercent = number | string;

export interface RolloutShape {
  replicas: number;
  maxSurge: number;
  maxUnavailable: number;
  /**
   * StatefulSet, and DaemonSet without surge: a replacement starts only after the pod it replaces is
   * gone (same name / one pod per node); Deployments and Rollouts start new pods while old ones drain.
   */
  replaceAfterExit: boolean;
  /** What was capped or defaulted, for the report. */
  notes: string[];
}

/** One step of the rollout: start this many new pods (wait until ready), then terminate this many old ones. */
export interface RolloutWave {
  start: number;
  terminate: number;
}

/**
 * An IntOrString scaled against replicas, as Kubernetes' intstr.GetScaledValueFromIntOrPercent:
 * a percentage rounds up for maxSurge and down for maxUnavailable. Undefined when the value is malformed.
 */
export function scaleIntOrPercent(v: IntOrPercent, replicas: number, roundUp: boolean): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  const m = /^(\d+)%$/.exec(v.trim());
  if (!m) return /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;
  const x = (Number(m[1]) * replicas) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * Deployment's fenceposts (kubernetes pkg/controller/deployment/util/deployment_util.go ResolveFenceposts):
 * when both come out 0, maxUnavailable becomes 1 so the rollout can progress.
 */
export function resolveFenceposts(surge: number, unavailable: number): { maxSurge: number; maxUnavailable: number } {
  return surge === 0 && unavailable === 0 ? { maxSurge: 0, maxUnavailable: 1 } : { maxSurge: surge, maxUnavailable: unavailable };
}

/** Cap replicas to the lab's limit, saying so. */
export function capReplicas(replicas: number, notes: string[], limit = LAB_MAX_REPLICAS): number {
  if (replicas <= limit) return replicas;
  notes.push(`replicas ${replicas} capped at ${limit} (the lab's limit on one machine); percentages are resolved against ${limit}`);
  return limit;
}

/**
 * The waves of a rolling update from `replicas` old pods to as many new ones. Each wave starts as many
 * new pods as the surge allows, then terminates as many old pods as availability allows counting the
 * new ones ready. Terminating pods do not count against the surge (the controller counts ReplicaSet
 * replicas). With replaceAfterExit the caller waits for the terminated pods to be gone before the next
 * wave's starts.
 */
export function rolloutWaves(s: Pick<RolloutShape, 'replicas' | 'maxSurge' | 'maxUnavailable'>): RolloutWave[] {
  const r = s.replicas;
  let old = r;
  let created = 0;
  const waves: RolloutWave[] = [];
  while (old > 0 || created < r) {
    const start = Math.max(0, Math.min(r - created, r + s.maxSurge - (old + created)));
    const terminate = Math.max(0, Math.min(old, old + created + start - (r - s.maxUnavailable)));
    if (start === 0 && terminate === 0) throw new Error(`rollout cannot progress (replicas ${r}, maxSurge ${s.maxSurge}, maxUnavailable ${s.maxUnavailable})`);
    waves.push({ start, terminate });
    created += start;
    old -= terminate;
  }
  return waves;
}
