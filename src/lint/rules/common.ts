/** What several rules ask of a pod view in the same words: where to point, how to name a setting. */
import type { HookAnalysis } from '../../analysis/analyze.js';
import type { Loc } from '../locate.js';
import type { HookView, PodView } from '../pod.js';

/** The proxy's hold of a meshed pod when lint could read its script; null otherwise (the hook rules' gate). */
export function analysedHold(pod: PodView): (HookView & { analysis: HookAnalysis }) | null {
  const hold = pod.hold;
  return pod.meshed && hold?.analysis ? (hold as HookView & { analysis: HookAnalysis }) : null;
}

/** Is this position in the pod's own file (rather than in a mesh config given beside it)? */
export function inPodFile(pod: PodView, at: Loc | undefined): at is Loc {
  return at !== undefined && at.file === pod.file;
}

/** A setting's source, and where it is when that is not the pod's own file: "annotation" / "values at mesh.yaml:12". */
export function origin(pod: PodView, s: { source: string; at: Loc }): string {
  return s.at.file === pod.file ? s.source : `${s.source} at ${s.at.file}:${s.at.line}`;
}

/** The pod's terminationGracePeriodSeconds, or its spec key when the default applies. */
export function graceLoc(pod: PodView): Loc {
  return pod.graceSet ? pod.loc(['spec', 'terminationGracePeriodSeconds']) : pod.locKey(['spec']);
}

/** Seconds as messages print them: at most three decimals, no trailing zeros. */
export function secs(n: number): number {
  return +n.toFixed(3);
}

/**
 * What `meshdrain inject` would write for this pod, in one sentence, from the same derivation inject
 * runs (pod.injected). A Job gets a native sidecar, not a hold; a pod inject leaves alone gets no
 * inject advice at all (undefined: the rule's generic fix stands).
 */
export function injectRemedy(pod: PodView): string | undefined {
  const f = pod.injected;
  if (!f) return undefined;
  const grace = f.grace.value !== f.grace.set ? ` and sets terminationGracePeriodSeconds: ${f.grace.value}` : '';
  if (f.nativeRequest === true) {
    return `Run meshdrain inject: it asks Istio for a native sidecar (sidecar.istio.io/nativeSidecar: "true"), which stops after the app${grace}.`;
  }
  if (f.userProxyPreStop === 'kept') {
    return `istio-proxy's own preStop is what needs fixing: meshdrain inject keeps it (and says so) unless the policy sets proxy.replaceUserPreStop: true, then it writes its hold${grace}.`;
  }
  if (f.hold) {
    const what = f.hold.strategies.map((s) => s.kind).join(' + ');
    return `Run meshdrain inject: it gives istio-proxy a preStop hold that waits for the app (${what}, at most ${secs(f.hold.timeoutMs / 1000)}s)${grace}.`;
  }
  if (grace) return `Run meshdrain inject: it sets terminationGracePeriodSeconds: ${f.grace.value}.`;
  return undefined;
}
