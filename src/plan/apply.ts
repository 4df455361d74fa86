/** ShutdownPlan → an edited copy of a pod template (plain objects). The YAML layer turns the difference into splices. */
import { appWaitExecCommand } from '../hooks/app-wait.js';
import { EARLIER_SHELL_APPLETS, holdExecCommand, shellInitCommand } from '../hooks/hold.js';
import { DEFAULT_TEMPLATE_NAME, SHELL_INIT_CONTAINER, SHELL_SECURITY_CONTEXT, SHELL_VOLUME } from '../constants.js';
import { templateAnnotationValue, templateAnnotationWithout } from '../istio/template.js';
import { ANNOTATIONS, AUTO_IMAGE, DEFAULT_GRACE_SECONDS, INJECTOR_ANNOTATIONS, PROXY_CONTAINER } from '../istio/facts.js';
import { withoutOwnProxyEntries, withProxyOverrides } from '../istio/overrides.js';
import { isRecord, type Container, type Handler, type PodTemplate } from '../model/workload.js';
import type { ShellSource, ShutdownPlan } from './types.js';
import { isBareProxyStub, isOwnProxyPreStop, isOwnProxyStub, proxyContainerOf } from './facts.js';

export { SHELL_INIT_CONTAINER, SHELL_SECURITY_CONTEXT, SHELL_VOLUME } from '../constants.js';

// A thousand Deployments share one hold: render each distinct script once.
const commands = new Map<string, string[]>();
function holdCommand(plan: ShutdownPlan & { hold: NonNullable<ShutdownPlan['hold']> }): string[] {
  const key = JSON.stringify([plan.hold, plan.shell]);
  let cmd = commands.get(key);
  if (!cmd) {
    if (commands.size > 1000) commands.clear();
    cmd = holdExecCommand(plan.hold, plan.shell);
    commands.set(key, cmd);
  }
  return [...cmd];
}

/** The istio-proxy preStop the plan asks for, or undefined when none (native mode). */
export function proxyPreStop(plan: ShutdownPlan): Handler | undefined {
  if (plan.proxyPreStop) return { exec: { command: plan.proxyPreStop } };
  if (plan.hold) return { exec: { command: holdCommand({ ...plan, hold: plan.hold }) } };
  return undefined;
}

function setPreStop(c: Container, handler: Handler): void {
  c.lifecycle = { ...c.lifecycle, preStop: handler };
}

/**
 * A static busybox (e.g. busybox:*-musl) copied into an emptyDir by one init container, with the
 * applets the generated waits use linked, mounted into `into` (istio-proxy's hold, an app's delay).
 * One init container serves every container that needs it: the first image asked for is the one.
 */
function bringShell(spec: NonNullable<PodTemplate['spec']>, shell: ShellSource & { kind: 'init-container' }, into: Container): void {
  const mount = { name: SHELL_VOLUME, mountPath: shell.mountPath };
  const mounts = (into.volumeMounts ??= []) as { name: string }[];
  if (!mounts.some((m) => m.name === SHELL_VOLUME)) mounts.push(mount);
  const inits = (spec.initContainers ??= []);
  const existing = inits.find((c) => c.name === SHELL_INIT_CONTAINER);
  // Written by an older meshdrain without one: a "restricted" namespace would reject the pod.
  if (existing && existing.securityContext === undefined) existing.securityContext = structuredClone(SHELL_SECURITY_CONTEXT);
  // Written by an older meshdrain that linked fewer applets (no `cat`: the hold then reads the TCP table
  // a byte at a time, ADR 084 addendum): its exact command, and only that, becomes this version's.
  if (existing) updateEarlierShellCopy(existing);
  if (!existing) {
    // Appended: every init container finishes before the regular containers start, and the user's
    // own init containers keep their bytes.
    inits.push({
      name: SHELL_INIT_CONTAINER,
      image: shell.image,
      command: shellInitCommand(shell),
      volumeMounts: [mount],
      securityContext: structuredClone(SHELL_SECURITY_CONTEXT),
    });
  }
  const volumes = (spec.volumes ??= []) as { name: string }[];
  if (!volumes.some((v) => v.name === SHELL_VOLUME)) volumes.push({ name: SHELL_VOLUME, emptyDir: {} } as { name: string });
}

/** The shell copy an earlier meshdrain wrote (its command re-rendered exactly), brought to this version's applets. */
function updateEarlierShellCopy(init: Container): void {
  const mount = (init.volumeMounts as { name?: unknown; mountPath?: unknown }[] | undefined)?.find((m) => m?.name === SHELL_VOLUME);
  if (typeof init.image !== 'string' || typeof mount?.mountPath !== 'string' || init.args !== undefined) return;
  const shell = { kind: 'init-container' as const, image: init.image, mountPath: mount.mountPath };
  const same = (a: readonly string[]) => Array.isArray(init.command) && init.command.length === a.length && init.command.every((x, i) => x === a[i]);
  try {
    if (EARLIER_SHELL_APPLETS.some((applets) => same(shellInitCommand(shell, applets)))) init.command = shellInitCommand(shell);
  } catch {
    // an image or path meshdrain would never write: not its shell copy, left as it is
  }
}

/** Where meshdrain puts one istio-proxy setting (ADR 061): the pod's own istio-proxy entry (a user's stub or an injected proxy), the override stub it adds, the proxy.istio.io/overrides annotation, or the custom injection template (istiod renders it). */
export type ProxyCarrier = 'own' | 'stub' | 'annotation' | 'template';
export interface ProxyWrite {
  /** The classic hold (or a policy's raw preStop), or the native drain. */
  what: 'classic' | 'native';
  carrier: ProxyCarrier;
}

/**
 * The pod without the stubs that are no carrier when the plan's carrier is not the override stub:
 * meshdrain's own `--via override` stub (inject takes it back, see applyPlan), and, for the placement
 * only (`bare`), an empty `image: auto` stub, which is left as written.
 */
function withoutStubs(pod: PodTemplate, plan: ShutdownPlan, bare = false): PodTemplate {
  const drop = (c: Container) => isOwnProxyStub(c) || (bare && isBareProxyStub(c));
  if (plan.via === 'override' || !pod.spec?.containers?.some(drop)) return pod;
  return { ...pod, spec: { ...pod.spec, containers: pod.spec.containers.filter((c) => !drop(c)) } };
}

/**
 * What of the plan's istio-proxy settings goes where in this pod: the one decision applyPlan writes by
 * and --explain reports. A settings left out (an own entry takes one preStop) is not listed.
 */
export function proxyPlacement(pod: PodTemplate, plan: ShutdownPlan): ProxyWrite[] {
  if (plan.leave) return [];
  const classic = plan.proxyPreStop !== undefined || plan.hold !== null;
  const native = plan.nativeDrain !== undefined;
  const viaTemplate = plan.via === 'template';
  const out: ProxyWrite[] = [];
  // With the template, the classic hold comes from istiod, and so does the native drain when the
  // template carries this pod's exactly; a different one goes in the annotation (applied after it).
  if (viaTemplate && classic) out.push({ what: 'classic', carrier: 'template' });
  if (viaTemplate && native && plan.nativeDrainInTemplate) out.push({ what: 'native', carrier: 'template' });
  const classicHere = classic && !viaTemplate;
  const nativeHere = native && !(viaTemplate && plan.nativeDrainInTemplate);
  if (!classicHere && !nativeHere) return out;
  const own = proxyContainerOf(withoutStubs(pod, plan, true));
  if (own || plan.via === 'override') {
    // One container takes one preStop: the native drain where the sidecar is native, else the hold.
    const nativeProxy = plan.mode.mode === 'native' || (own !== undefined && own.restartPolicy === 'Always');
    const what = nativeProxy ? (nativeHere ? 'native' : 'classic') : classicHere ? 'classic' : 'native';
    out.push({ what, carrier: own ? 'own' : 'stub' });
  } else {
    if (classicHere) out.push({ what: 'classic', carrier: 'annotation' });
    if (nativeHere) out.push({ what: 'native', carrier: 'annotation' });
  }
  return out;
}

/** Apply a plan to a pod template; returns a new object and never mutates the input. */
export function applyPlan(pod: PodTemplate, plan: ShutdownPlan, opts: { templateName?: string; mergeProxyConfig?: (existing: string | undefined) => string | undefined } = {}): PodTemplate {
  if (plan.leave) return structuredClone(pod);
  // meshdrain's own override stub goes when the carrier is another (or none): left, it would carry a
  // second hold (or, where nothing is injected, an `image: auto` no kubelet can pull).
  const base = withoutStubs(pod, plan);
  const out = structuredClone(base);
  const meta = (out.metadata ??= {});
  const spec = (out.spec ??= {});
  const annotations = { ...meta.annotations };
  let tookBack = base !== pod;

  if (plan.nativeSidecar !== undefined && annotations[ANNOTATIONS.nativeSidecar] === undefined) {
    annotations[ANNOTATIONS.nativeSidecar] = String(plan.nativeSidecar);
  }
  const mergedConfig = opts.mergeProxyConfig?.(annotations[ANNOTATIONS.proxyConfig]);
  if (mergedConfig !== undefined) annotations[ANNOTATIONS.proxyConfig] = mergedConfig;

  const classicHandler = proxyPreStop(plan);
  const nativeHandler: Handler | undefined = plan.nativeDrain ? { exec: { command: [...plan.nativeDrain] } } : undefined;
  // The shell a distroless proxy needs: for the hold, and for a native drain that sleeps first.
  const needsShell = plan.shell.kind === 'init-container' && ((classicHandler !== undefined && !plan.proxyPreStop && plan.via !== 'template') || (nativeHandler !== undefined && plan.nativeDrain![0] !== 'pilot-agent'));
  const withShell = (c: Container): Container => {
    if (needsShell && plan.shell.kind === 'init-container') bringShell(spec, plan.shell, c);
    return c;
  };
  const templateName = plan.templateName ?? opts.templateName ?? DEFAULT_TEMPLATE_NAME;
  if (plan.via === 'template' && (classicHandler || nativeHandler)) {
    const value = templateAnnotationValue(templateName, annotations[ANNOTATIONS.templates], plan.defaultTemplates);
    if (value !== undefined) annotations[ANNOTATIONS.templates] = value;
  }
  const placed = proxyPlacement(pod, plan);
  // A carrier changed since an earlier run: meshdrain's own earlier settings go, or the pod carries two.
  // What the template or the pod's istio-proxy entry now carries leaves the overrides annotation (istiod
  // applies the annotation after the templates and over the pod's own entry, webhook.go
  // reapplyOverwrittenContainers); an annotation left with no entry (withoutOwnProxyEntries writes '{}')
  // is removed.
  const inTemplate = placed.filter((w) => w.carrier === 'template').map((w) => w.what);
  const elsewhere = placed.filter((w) => w.carrier !== 'annotation').map((w) => w.what);
  if (elsewhere.length) {
    const stripped = withoutOwnProxyEntries(annotations[INJECTOR_ANNOTATIONS.overrides], elsewhere, isOwnProxyPreStop, SHELL_VOLUME);
    if (stripped === '{}') delete annotations[INJECTOR_ANNOTATIONS.overrides];
    else if (stripped !== undefined) annotations[INJECTOR_ANNOTATIONS.overrides] = stripped;
    tookBack ||= stripped !== undefined;
  }
  if (!inTemplate.length && plan.via !== 'template' && placed.length) {
    const rest = templateAnnotationWithout(templateName, annotations[ANNOTATIONS.templates], plan.defaultTemplates);
    if (rest === null) delete annotations[ANNOTATIONS.templates];
    else if (rest !== undefined) annotations[ANNOTATIONS.templates] = rest;
  }
  const handlerOf = (w: ProxyWrite): Handler => (w.what === 'classic' ? classicHandler! : nativeHandler!);
  const onContainer = placed.find((w) => w.carrier === 'own' || w.carrier === 'stub');
  if (onContainer) {
    // The pod's own istio-proxy entry (the user's stub, or an injected proxy), or the override stub
    // Istio strategic-merges into the sidecar it injects (written only where injection happens).
    const containers = (spec.containers ??= []);
    let proxy = proxyContainerOf({ spec });
    if (!proxy) {
      proxy = { name: PROXY_CONTAINER, image: AUTO_IMAGE };
      containers.push(proxy);
    }
    setPreStop(withShell(proxy), handlerOf(onContainer));
  }
  const inAnnotation = placed.filter((w) => w.carrier === 'annotation');
  if (inAnnotation.length) {
    // The proxy.istio.io/overrides annotation: `containers` is read for a classic sidecar,
    // `initContainers` for a native one; a pod never injected ignores it (ADR 061).
    const entry = (h: Handler): Container => withShell({ name: PROXY_CONTAINER, lifecycle: { preStop: h } });
    annotations[INJECTOR_ANNOTATIONS.overrides] = withProxyOverrides(
      annotations[INJECTOR_ANNOTATIONS.overrides],
      Object.fromEntries(inAnnotation.map((w) => [w.what, entry(handlerOf(w))])),
    );
  }

  for (const app of plan.apps) {
    if (!app.preStop) continue;
    const c = spec.containers?.find((x) => x.name === app.name);
    if (!c) continue;
    const ps = app.preStop;
    setPreStop(c, 'exec' in ps ? { exec: { command: ps.exec } } : 'wait' in ps ? { exec: { command: appWaitExecCommand(ps.wait, ps.shell) } } : { sleep: { seconds: ps.sleepSeconds } });
    if ('wait' in ps && ps.shell.kind === 'init-container') bringShell(spec, ps.shell, c);
  }

  if (plan.graceSeconds > (spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS)) spec.terminationGracePeriodSeconds = plan.graceSeconds;
  if (tookBack) dropUnusedShell(spec, annotations[INJECTOR_ANNOTATIONS.overrides]);
  // Annotations (and a metadata) that held only what meshdrain took back go with it; what the user
  // wrote empty (`annotations:`, `annotations: {}`, `metadata:`) stays as written.
  const emptied = isRecord(pod.metadata?.annotations) && Object.keys(pod.metadata.annotations).length > 0 && Object.keys(annotations).length === 0;
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  else if (emptied) delete meta.annotations;
  if (Object.keys(meta).length === 0 && (pod.metadata === undefined || emptied)) delete out.metadata;
  return out;
}

/**
 * meshdrain's shell init container and its volume, once nothing mounts the volume any more (the stub
 * or the overrides entry that did was taken back); lists left empty go too.
 */
function dropUnusedShell(spec: NonNullable<PodTemplate['spec']>, overrides: string | undefined): void {
  const mounts = (c: Container) => Array.isArray(c.volumeMounts) && (c.volumeMounts as { name?: unknown }[]).some((m) => m?.name === SHELL_VOLUME);
  const others = [...(spec.containers ?? []), ...(spec.initContainers ?? []).filter((c) => c.name !== SHELL_INIT_CONTAINER)];
  if (others.some(mounts) || overrides?.includes(`"${SHELL_VOLUME}"`)) return;
  if (spec.initContainers?.some((c) => c.name === SHELL_INIT_CONTAINER)) {
    spec.initContainers = spec.initContainers.filter((c) => c.name !== SHELL_INIT_CONTAINER);
    if (!spec.initContainers.length) delete spec.initContainers;
  }
  const volumes = spec.volumes as { name?: unknown }[] | undefined;
  if (volumes?.some((v) => v?.name === SHELL_VOLUME)) {
    spec.volumes = volumes.filter((v) => v?.name !== SHELL_VOLUME) as typeof spec.volumes;
    if (!spec.volumes!.length) delete spec.volumes;
  }
}
