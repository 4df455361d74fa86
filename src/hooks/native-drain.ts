/**
 * meshdrain's native drain for a drain decision (plan/facts.ts nativeDrain): the one rendering inject,
 * the custom template and the injector patch share (ADR 062).
 */
import { NATIVE_DRAIN_PRESTOP } from '../istio/facts.js';
import type { AppWaitSpec, ShellSource } from '../plan/types.js';
import { appWaitScriptThen } from './app-wait.js';
import { nativeDrainExecCommand, shellExecCommand } from './hold.js';

/**
 * Where the app's delay is the observed wait (app.shell), the drain waits for the same event in
 * istio-proxy — the pod's TCP table is shared — and starts when traffic has left the pod; a sleep of
 * the wait's upper bound would keep the sidecar's preStop, and so the pod, alive for that bound
 * (ADR 062 addendum). Otherwise it sleeps the fixed delay less the lead; a shell only when it waits.
 */
export function nativeDrainCommand(drain: { delaySeconds: number; wait?: AppWaitSpec }, shell: ShellSource = { kind: 'image' }): string[] {
  if (drain.wait) return shellExecCommand(appWaitScriptThen(drain.wait, NATIVE_DRAIN_PRESTOP), shell);
  return nativeDrainExecCommand(drain.delaySeconds, NATIVE_DRAIN_PRESTOP, drain.delaySeconds > 0 ? shell : { kind: 'image' });
}
