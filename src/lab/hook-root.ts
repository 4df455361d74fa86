/**
 * Hooks see only the proxy image's tools. The lab runs an istio-proxy exec preStop in a private mount
 * namespace, chrooted into a minimal root that holds what the chosen proxyv2 variant ships: the default
 * (Ubuntu-based) image's shell, coreutils, grep, net-tools, iproute2 and curl; the distroless image has
 * none of them (../shared/design/istio-shutdown-facts.md "The proxyv2 image"; istio docker/Dockerfile.base).
 * A hook that needs a missing tool fails as the kubelet fails it (FailedPreStopHook), and its container
 * gets SIGTERM at once. `pilot-agent` is in every variant (/usr/local/bin/pilot-agent, istio
 * pilot/docker/Dockerfile.proxyv2) and is the lab's own program: a hook that execs it directly runs
 * outside the root (it execs nothing else), and a script that calls it (meshdrain's hold asks
 * `pilot-agent request … POST drain`) finds it at /usr/local/bin in the root, as in the image. ADR 071.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execCmd, labEnv } from './exec.js';
import type { ProxyVariant } from './pod-spec.js';

/**
 * What each variant's hook finds on PATH. Default: the Ubuntu base's shell and coreutils plus the
 * packages Istio's Dockerfile.base adds (curl, iproute2 for ss, net-tools for netstat). Distroless: none.
 */
export const VARIANT_PROGRAMS: Readonly<Record<ProxyVariant, readonly string[]>> = Object.freeze({
  default: ['sh', 'bash', 'sleep', 'cat', 'echo', 'grep', 'wc', 'xargs', 'head', 'tail', 'tr', 'cut', 'sed', 'awk', 'ls', 'netstat', 'ss', 'curl'],
  distroless: [],
});

export interface HookRoot {
  variant: ProxyVariant;
  dir: string;
  /** Programs the root holds (host paths copied in, with their shared libraries). */
  programs: string[];
  /** Programs of the variant this host lacks (the root lacks them too; reported). */
  missing: string[];
  /** The launcher: unshare --mount, mount /proc, chroot as the hook's user. */
  launcher: string;
  /** Directories with a static busybox an init container would have copied onto a shared emptyDir (ADR 085). */
  busyboxDirs: string[];
  /** What the root differs in from the pod's (said once per run). */
  notes: string[];
}

/** A directory of the pod's istio-proxy that holds a static busybox and its applet links (pod-spec.ts proxyBusyboxDirs). */
export interface BusyboxDir {
  mountPath: string;
  applets: readonly string[];
}

const LAUNCHER = `#!/bin/sh
# meshdrain lab: run a preStop in the proxy image's root. Usage: launch ROOT UID CMD...
# Runs under \`unshare --mount\` (private propagation): the /proc mount goes away with the hook.
set -e
root=$1 uid=$2
shift 2
mount -t proc proc "$root/proc"
mount --bind /dev/null "$root/dev/null"
exec chroot --userspec="$uid:$uid" "$root" "$@"
`;

/** Shared libraries a program loads (ldd), as absolute host paths. */
async function libsOf(path: string): Promise<string[]> {
  const r = await execCmd(['ldd', path]);
  if (r.code !== 0) return []; // static, or a script
  return [...r.stdout.matchAll(/(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
}

function copyInto(root: string, hostPath: string): void {
  const dst = join(root, hostPath);
  if (existsSync(dst)) return;
  mkdirSync(dirname(dst), { recursive: true, mode: 0o755 });
  copyFileSync(realpathSync(hostPath), dst);
  chmodSync(dst, 0o755);
}

/** The program's file on the lab's PATH (a shell's `command -v` would answer builtins like echo by name). */
function which(prog: string): string | undefined {
  for (const d of (labEnv().PATH ?? '').split(':')) {
    const p = join(d, prog);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Build the variant's root under `dir` (world-readable; the hook runs as UID 1337): /bin and /usr/bin
 * with the variant's programs and their libraries, /proc (mounted per hook), /tmp, /dev/null.
 */
/** The lab's pilot-agent, to install in a root: the node binary and the agent's directory. */
export interface PilotAgentSource {
  node: string;
  agentDir: string;
  /** The agent's entry file name in agentDir. */
  entry: string;
}

/** Where the root keeps the lab's pilot-agent (node and the agent's files); /usr/local/bin/pilot-agent runs it. */
const ROOT_AGENT_DIR = '/usr/local/lib/meshdrain-lab';

/**
 * Install the lab's pilot-agent at /usr/local/bin/pilot-agent in the root. No shell is needed (the
 * distroless image has none): the file's #! line names node and the agent, and the agent takes a
 * first argument named pilot-agent as its own name.
 */
async function installPilotAgent(dir: string, src: PilotAgentSource): Promise<void> {
  const node = `${ROOT_AGENT_DIR}/node`;
  mkdirSync(join(dir, ROOT_AGENT_DIR, 'agent'), { recursive: true, mode: 0o755 });
  copyFileSync(realpathSync(src.node), join(dir, node));
  chmodSync(join(dir, node), 0o755);
  for (const lib of await libsOf(src.node)) copyInto(dir, lib);
  for (const f of readdirSync(src.agentDir)) copyFileSync(join(src.agentDir, f), join(dir, ROOT_AGENT_DIR, 'agent', f));
  mkdirSync(join(dir, 'usr/local/bin'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'usr/local/bin/pilot-agent'), `#!${node} ${ROOT_AGENT_DIR}/agent/${src.entry}\n`, { mode: 0o755 });
}

/**
 * What meshdrain's shell init container leaves on its emptyDir, where istio-proxy mounts it: `busybox`
 * (mode 0555) and the applets as links to it (hooks/hold.ts shellInitCommand: `cp /bin/busybox DIR/busybox
 * && chmod 0555 … && ln -sf busybox DIR/APPLET`). The host's busybox stands in for the image's static
 * one; a dynamically linked host busybox brings its libraries, which the image's would not need (noted).
 */
async function installBusybox(dir: string, dirs: readonly BusyboxDir[], missing: string[], notes: string[]): Promise<void> {
  const host = which('busybox');
  if (!host) {
    missing.push('busybox');
    notes.push(`no busybox on this host: the shell an init container copies to ${dirs.map((d) => d.mountPath).join(', ')} is missing from the root, and a hook that runs it fails`);
    return;
  }
  for (const d of dirs) {
    const at = join(dir, d.mountPath);
    mkdirSync(at, { recursive: true, mode: 0o755 });
    copyFileSync(realpathSync(host), join(at, 'busybox'));
    chmodSync(join(at, 'busybox'), 0o555);
    for (const a of d.applets) if (!existsSync(join(at, a))) symlinkSync('busybox', join(at, a));
  }
  // The image's busybox (docker-library's musl build: defconfig + CONFIG_STATIC) runs only the applets
  // linked by name; one built with FEATURE_SH_STANDALONE (Debian's busybox-static) finds every applet
  // without a link, which would give the hook tools the pod does not have: said, not hidden.
  const standalone = await execCmd(['env', 'PATH=/nonexistent', host, 'sh', '-c', 'command -v cat']);
  if (standalone.code === 0) notes.push(`this host's busybox (${host}) finds every applet without a link (FEATURE_SH_STANDALONE), unlike the image's: a hook in the root finds more than ${dirs.map((d) => d.applets.join(', ')).join('; ')}`);
  // Debian's busybox is dynamically linked: its shared libraries come along (no program comes with them).
  for (const lib of await libsOf(host)) copyInto(dir, lib);
}

export async function buildHookRoot(dir: string, variant: ProxyVariant, pilotAgent?: PilotAgentSource, busyboxDirs: readonly BusyboxDir[] = []): Promise<HookRoot> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const d of ['bin', 'usr/bin', 'proc', 'tmp', 'dev', 'etc']) mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  chmodSync(join(dir, 'tmp'), 0o1777);
  const programs: string[] = [];
  const missing: string[] = [];
  for (const prog of VARIANT_PROGRAMS[variant]) {
    const host = which(prog);
    if (!host) {
      missing.push(prog);
      continue;
    }
    const inRoot = join('/usr/bin', prog);
    copyInto(dir, host);
    if (host !== inRoot) {
      mkdirSync(join(dir, 'usr/bin'), { recursive: true });
      if (!existsSync(join(dir, inRoot))) symlinkSync(host, join(dir, inRoot));
    }
    if (!existsSync(join(dir, 'bin', prog))) symlinkSync(inRoot, join(dir, 'bin', prog));
    for (const lib of await libsOf(host)) copyInto(dir, lib);
    programs.push(prog);
  }
  if (pilotAgent) await installPilotAgent(dir, pilotAgent);
  const notes: string[] = [];
  if (busyboxDirs.length) await installBusybox(dir, busyboxDirs, missing, notes);
  // The mount point for the host's /dev/null (bound per hook by the launcher).
  writeFileSync(join(dir, 'dev', 'null'), '', { mode: 0o666 });
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0::/:/sbin/nologin\nistio-proxy:x:1337:1337::/:/sbin/nologin\n', { mode: 0o644 });
  const launcher = join(dir, '..', `launch-${variant}.sh`);
  writeFileSync(launcher, LAUNCHER, { mode: 0o755 });
  return { variant, dir, programs, missing, launcher, busyboxDirs: busyboxDirs.map((d) => d.mountPath), notes };
}

/** True when the hook execs pilot-agent itself (present in every proxyv2 image; the lab's own program). */
export function execsPilotAgent(argv: readonly string[]): boolean {
  return /(^|\/)pilot-agent$/.test(argv[0] ?? '');
}

/** argv (run as root in the pod's network namespace) that runs a hook in the root as `uid`. */
export function hookArgv(root: HookRoot, uid: number, argv: readonly string[]): string[] {
  return ['unshare', '--mount', '--propagation', 'private', '/bin/sh', root.launcher, root.dir, String(uid), ...argv];
}

/**
 * How the kubelet sees a hook's end: exit 0 completes it; anything else is FailedPreStopHook (an exec
 * handler that exits non-zero or cannot start; kubernetes pkg/kubelet/lifecycle/handlers.go). 126/127
 * from chroot mean the program is not in the image.
 */
export function preStopOutcome(code: number | null, signal: string | null, stderrTail: readonly string[]): { ok: boolean; detail: string } {
  if (signal) return { ok: false, detail: `killed by ${signal}` };
  if (code === 0) return { ok: true, detail: 'exit 0' };
  const notFound = stderrTail.map((l) => /failed to run command ['\u2018]([^'\u2019]+)['\u2019]: No such file or directory/.exec(l)?.[1]).find(Boolean);
  if (notFound) return { ok: false, detail: `FailedPreStopHook: ${notFound} is not in the proxy image` };
  return { ok: false, detail: `FailedPreStopHook: exit ${code}` };
}
