/**
 * What a pod's init containers leave on a shared emptyDir for istio-proxy's hook (ADR 085). Kubernetes
 * runs every init container to completion, in order, before the app containers start, and an emptyDir
 * volume is one directory shared by every container of the pod that mounts it (kubernetes.io docs:
 * "Init Containers", "Volumes → emptyDir"). meshdrain's inject brings a distroless istio-proxy a shell
 * that way (ADR 084): an init container copies its image's static busybox into an emptyDir and links
 * the applets the hold uses; istio-proxy mounts the volume and its hook runs `<mountPath>/sh`.
 *
 * The lab cannot pull the init container's image; it can know what the init container leaves only when
 * its command is exactly what meshdrain writes (re-rendered with hooks/hold.ts shellInitCommand, as
 * analysis/own-hold.ts recognises meshdrain's hold), never by a name. Anything else an init container
 * does is not replayed: an init container that mounts a volume istio-proxy also mounts (a user's own
 * shell copy, say) is listed in `unreplayed`, and the lab's notes say its hook runs without what it
 * leaves there. Pure; the root is built in hook-root.ts.
 */
import { PROXY_CONTAINER } from '../istio/facts.js';
import { EARLIER_SHELL_APPLETS, shellInitCommand, SHELL_APPLETS } from '../hooks/hold.js';
import { isRecord, type Container, type PodTemplate } from '../model/workload.js';

/** A directory istio-proxy sees with a static busybox in it, and why the lab knows it is there. */
export interface ProxyBusyboxDir {
  /** Where istio-proxy mounts the volume (its hook finds `<mountPath>/busybox` and the applets). */
  mountPath: string;
  /** The applets linked next to busybox (`ln -sf busybox <dir>/<applet>`). */
  applets: readonly string[];
  /** The init container that copies it, the emptyDir volume it copies into. */
  initContainer: string;
  volume: string;
  /** The init container's image (the lab stands the host's static busybox in for the image's /bin/busybox). */
  image: string;
}

/** A volume istio-proxy mounts that an init container other than meshdrain's shell copy also mounts: not replayed. */
export interface UnreplayedInitVolume {
  initContainer: string;
  volume: string;
  /** Where istio-proxy mounts it. */
  mountPath: string;
}

export interface ProxyShellVolumes {
  dirs: ProxyBusyboxDir[];
  notes: string[];
  /** What the lab does not bring into the hook root (it runs no init container): said in the lab's notes. */
  unreplayed: UnreplayedInitVolume[];
}

const sameArgv = (a: unknown, b: readonly string[]): boolean => Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The applets linked when the init container's command is meshdrain's shell copy into `mountPath`
 * (this version's, or an earlier version's list); undefined otherwise.
 */
function copiesShellInto(c: Container, mountPath: string): readonly string[] | undefined {
  if (typeof c.image !== 'string' || c.args !== undefined) return undefined;
  for (const applets of [SHELL_APPLETS, ...EARLIER_SHELL_APPLETS]) {
    let expected: string[];
    try {
      expected = shellInitCommand({ kind: 'init-container', image: c.image, mountPath }, applets);
    } catch {
      return undefined; // an image or path meshdrain would never write: not its shell copy
    }
    if (sameArgv(c.command, expected)) return applets;
  }
  return undefined;
}

/** volumeMounts as written: name, mountPath, subPath (anything else skipped). */
function mountsOf(c: unknown): { name: string; mountPath: string; subPath?: string }[] {
  const v = isRecord(c) ? c.volumeMounts : undefined;
  return (Array.isArray(v) ? (v as unknown[]) : []).flatMap((m) =>
    isRecord(m) && typeof m.name === 'string' && typeof m.mountPath === 'string' ? [{ name: m.name, mountPath: m.mountPath, ...(typeof m.subPath === 'string' && m.subPath ? { subPath: m.subPath } : {}) }] : [],
  );
}

/**
 * The directories where istio-proxy finds a static busybox because an init container of the pod put
 * it there. `proxyEntries`: istio-proxy as the pod gives it (its own container entry and the
 * proxy.istio.io/overrides entry Istio merges into the injected container); their mounts are read.
 */
export function proxyShellVolumes(template: PodTemplate, proxyEntries: readonly (Container | undefined)[]): ProxyShellVolumes {
  const spec = isRecord(template.spec) ? template.spec : {};
  const volumes = new Map<string, Record<string, unknown>>();
  for (const v of Array.isArray(spec.volumes) ? (spec.volumes as unknown[]) : []) if (isRecord(v) && typeof v.name === 'string') volumes.set(v.name, v);
  // What each emptyDir holds once the init containers have run: volume → the init container that filled it.
  const filled = new Map<string, { init: Container; applets: readonly string[] }>();
  // Volumes other init containers mount (they may write there; the lab runs none of them): volume → names.
  const others = new Map<string, string[]>();
  const notes: string[] = [];
  for (const c of Array.isArray(spec.initContainers) ? (spec.initContainers as Container[]) : []) {
    if (!isRecord(c) || c.name === PROXY_CONTAINER) continue;
    for (const m of mountsOf(c)) {
      const applets = m.subPath || !isRecord(volumes.get(m.name)?.emptyDir) ? undefined : copiesShellInto(c, m.mountPath);
      if (applets) filled.set(m.name, { init: c, applets });
      else if (typeof c.name === 'string' && !others.get(m.name)?.includes(c.name)) others.set(m.name, [...(others.get(m.name) ?? []), c.name]);
    }
  }
  const dirs: ProxyBusyboxDir[] = [];
  const unreplayed: UnreplayedInitVolume[] = [];
  const seen = new Set<string>();
  for (const entry of proxyEntries) {
    for (const m of mountsOf(entry)) {
      for (const initContainer of others.get(m.name) ?? []) {
        if (!unreplayed.some((u) => u.initContainer === initContainer && u.volume === m.name)) unreplayed.push({ initContainer, volume: m.name, mountPath: m.mountPath });
      }
      const fill = filled.get(m.name);
      if (!fill || seen.has(m.mountPath)) continue;
      const { init, applets } = fill;
      if (!m.mountPath.startsWith('/') || m.mountPath === '/' || m.mountPath.split('/').includes('..')) {
        notes.push(`${PROXY_CONTAINER} mounts volume ${m.name} at ${JSON.stringify(m.mountPath)}, not a directory the kubelet would mount; not brought in`);
        continue;
      }
      if (m.subPath) {
        notes.push(`${PROXY_CONTAINER} mounts volume ${m.name} with subPath ${m.subPath}: the shell ${init.name} copies is not under ${m.mountPath}; not brought in`);
        continue;
      }
      seen.add(m.mountPath);
      dirs.push({ mountPath: m.mountPath, applets, initContainer: init.name, volume: m.name, image: init.image as string });
      const lacking = SHELL_APPLETS.filter((a) => !applets.includes(a));
      if (lacking.length) {
        notes.push(`init container ${init.name} is an earlier meshdrain's shell copy, without ${lacking.join(', ')}: the hold reads /proc/net/tcp a byte at a time and can hold istio-proxy seconds past the app's exit; run meshdrain inject again to update it`);
      }
    }
  }
  return { dirs, notes, unreplayed };
}
