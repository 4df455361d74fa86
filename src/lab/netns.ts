/**
 * The lab's network: one "lab" namespace holding a bridge, and a namespace per pod, client and
 * external service, each joined to the bridge by a veth pair created directly inside the lab
 * namespace. Nothing is created in the host's namespace, so deleting our namespaces removes every
 * interface and iptables rule we made (docs/adr/050-lab-isolation.md).
 */
import { INBOUND_CAPTURE_PORT, OUTBOUND_CAPTURE_PORT, PROXY_UID, ZTUNNEL_HBONE_PORT, ZTUNNEL_INBOUND_PLAINTEXT_PORT, ZTUNNEL_OUTBOUND_PORT } from '../istio/facts.js';
import { LabEnvError } from './errors.js';
import { execCmd, mustExec } from './exec.js';

/** The order a run's namespaces are deleted in: pods, then the clients, the lab namespace (holding their bridge) last. */
export function byTeardownOrder(a: string, b: string): number {
  const rank = (ns: string) => (ns.endsWith('-lab') ? 2 : ns.endsWith('-cli') || ns.endsWith('-ext') || ns.endsWith('-zt') ? 1 : 0);
  return rank(a) - rank(b);
}

/** Addresses come from the benchmarking range 198.18.0.0/15 only. */
export const LAB_CIDR_PREFIX = 16;
export const CLIENT_IP = '198.18.0.2';
export const EXTERNAL_IP = '198.18.0.3';
/** The node's ztunnel (ambient) lives in its own namespace with this address. */
export const ZTUNNEL_IP = '198.18.0.4';
/** The kubelet's probes leave the client namespace from this second address (Istio SNATs them to 169.254.7.127). */
export const PROBE_SOURCE_IP = '198.18.0.5';

let runCounter = 0;

/**
 * Set by a test harness (lowercase letters) to tag every namespace of its run, so it can remove
 * exactly those after a killed test (test/global-netns.ts). Anything else is ignored.
 */
export const NETNS_TAG_ENV = 'MESHDRAIN_NETNS_TAG';
/** Lowercase letters only: never confused with the pid digits that follow it in a name. */
export const NETNS_TAG_RE = /^[a-z]{4,8}$/;

/** A unique, short name prefix for one lab run: md[tag]<pid>x<n> (netns names stay well under limits). */
export function newRunPrefix(): string {
  runCounter += 1;
  const tag = process.env[NETNS_TAG_ENV] ?? '';
  return `md${NETNS_TAG_RE.test(tag) ? tag : ''}${process.pid}x${runCounter}`;
}

/** Pod n's address: 198.18.1.1, 198.18.1.2, ... (250 per /24, then the next). */
export function podIp(n: number): string {
  return `198.18.${1 + Math.floor(n / 250)}.${(n % 250) + 1}`;
}

/** How a pod's traffic is captured: by its sidecar (istio-iptables) or by the node's ztunnel (in-pod rules). */
export type Capture = 'sidecar' | 'ztunnel';

/** A pod's interception rules (iptables-restore input for the nat table). */
export function podIptablesRules(appPort: number, capture: Capture = 'sidecar'): string {
  return capture === 'ztunnel' ? ztunnelInpodRules() : sidecarRules(appPort);
}

/**
 * Ambient's in-pod rules, as istio-cni writes them (cni/pkg/iptables/iptables.go AppendInpodRules):
 * kubelet probes pass; ztunnel's own connections pass (Istio: mark 0x539; here: ztunnel's address);
 * every other inbound TCP not for 15008 → 15006; outbound TCP not for localhost → 15001.
 */
function ztunnelInpodRules(): string {
  return natTable(['MD_INPOD_PRERT', 'MD_INPOD_OUTPUT'], [
    '-A PREROUTING -j MD_INPOD_PRERT',
    `-A MD_INPOD_PRERT -s ${PROBE_SOURCE_IP}/32 -p tcp -j ACCEPT`,
    `-A MD_INPOD_PRERT -s ${ZTUNNEL_IP}/32 -p tcp -j ACCEPT`,
    `-A MD_INPOD_PRERT ! -d 127.0.0.1/32 -p tcp ! --dport ${ZTUNNEL_HBONE_PORT} -j REDIRECT --to-ports ${ZTUNNEL_INBOUND_PLAINTEXT_PORT}`,
    '-A OUTPUT -j MD_INPOD_OUTPUT',
    `-A MD_INPOD_OUTPUT -d ${PROBE_SOURCE_IP}/32 -p tcp -j ACCEPT`,
    '-A MD_INPOD_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT',
    `-A MD_INPOD_OUTPUT ! -d 127.0.0.1/32 -p tcp -j REDIRECT --to-ports ${ZTUNNEL_OUTBOUND_PORT}`,
  ]);
}

/** Istio's sidecar interception (istio-iptables): app port → 15006; outbound → 15001 except UID 1337 and loopback. */
function sidecarRules(appPort: number): string {
  return natTable(['MD_INBOUND', 'MD_OUTPUT'], [
    '-A PREROUTING -p tcp -j MD_INBOUND',
    `-A MD_INBOUND -p tcp --dport ${appPort} -j REDIRECT --to-ports ${INBOUND_CAPTURE_PORT}`,
    '-A OUTPUT -p tcp -j MD_OUTPUT',
    `-A MD_OUTPUT -m owner --uid-owner ${PROXY_UID} -j RETURN`,
    '-A MD_OUTPUT -d 127.0.0.0/8 -j RETURN',
    `-A MD_OUTPUT -p tcp -j REDIRECT --to-ports ${OUTBOUND_CAPTURE_PORT}`,
  ]);
}

/** The per-network-namespace sysctl that lets a process without CAP_NET_BIND_SERVICE bind ports below it. */
export const UNPRIVILEGED_PORT_SYSCTL = 'net.ipv4.ip_unprivileged_port_start';

/**
 * Let every process in pod namespace `ns` bind any port, as the user's container runtime does for a
 * pod's own network namespace (Docker and containerd 2.0's CRI set this sysctl to 0; docs/adr/094).
 * The sysctl lives in the network namespace, so the host's value is untouched. A kernel without it
 * (before 4.11) is skipped, as Docker skips it.
 */
async function allowLowPorts(ns: string): Promise<void> {
  const r = await execCmd(['ip', 'netns', 'exec', ns, 'sysctl', '-n', UNPRIVILEGED_PORT_SYSCTL]);
  if (r.code !== 0) return;
  await mustExec(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', `${UNPRIVILEGED_PORT_SYSCTL}=0`]);
}

/** An iptables-restore input for the nat table: the built-in chains, our chains, the rules. */
function natTable(chains: string[], rules: string[]): string {
  const builtin = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'].map((c) => `:${c} ACCEPT [0:0]`);
  return ['*nat', ...builtin, ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join('\n');
}

export class LabNet {
  readonly labNs: string;
  readonly clientNs: string;
  readonly externalNs: string;
  readonly ztunnelNs: string;
  /** Every namespace we asked for, recorded before creation so a half-made one is still removed. */
  private readonly created = new Set<string>();

  constructor(readonly prefix: string) {
    this.labNs = `${prefix}-lab`;
    this.clientNs = `${prefix}-cli`;
    this.externalNs = `${prefix}-ext`;
    this.ztunnelNs = `${prefix}-zt`;
  }

  podNs(n: number): string {
    return `${this.prefix}-p${n}`;
  }

  /** Set by teardown: a step still under way (a pod being created) adds no namespace after it. */
  private closed = false;
  /** Namespaces being added: teardown waits for them, so an `ip netns add` cannot land after its `del`. */
  private readonly adding = new Set<Promise<void>>();

  private async addNs(name: string): Promise<void> {
    if (this.closed) throw new LabEnvError(`not creating namespace ${name}: the lab is shutting down`);
    this.created.add(name);
    const p = (async () => {
      await mustExec(['ip', 'netns', 'add', name]);
      await mustExec(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    })();
    this.adding.add(p);
    try {
      await p;
    } finally {
      this.adding.delete(p);
    }
  }

  /** Join namespace `ns` to the bridge as eth0 with `ip`. The lab side is called `port`. */
  private async attach(ns: string, port: string, ip: string): Promise<void> {
    await mustExec(['ip', '-n', this.labNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await mustExec(['ip', '-n', this.labNs, 'link', 'set', port, 'master', 'br0', 'up']);
    await mustExec(['ip', '-n', ns, 'addr', 'add', `${ip}/${LAB_CIDR_PREFIX}`, 'dev', 'eth0']);
    await mustExec(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  }

  /** Create the lab namespace, its bridge, and the client and external-service namespaces. */
  async setup(): Promise<void> {
    await this.addNs(this.labNs);
    await mustExec(['ip', '-n', this.labNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await mustExec(['ip', '-n', this.labNs, 'link', 'set', 'br0', 'up']);
    await this.addNs(this.clientNs);
    await this.attach(this.clientNs, 'cli', CLIENT_IP);
    await mustExec(['ip', '-n', this.clientNs, 'addr', 'add', `${PROBE_SOURCE_IP}/${LAB_CIDR_PREFIX}`, 'dev', 'eth0']);
    await this.addNs(this.externalNs);
    await this.attach(this.externalNs, 'ext', EXTERNAL_IP);
  }

  /** The node namespace ambient's ztunnel runs in (created on first use). */
  async addZtunnelNs(): Promise<string> {
    await this.addNs(this.ztunnelNs);
    await this.attach(this.ztunnelNs, 'zt', ZTUNNEL_IP);
    return this.ztunnelNs;
  }

  /** A pod's namespace with its address and Istio-style interception. Returns the namespace name. */
  async addPod(n: number, appPort: number, capture: Capture): Promise<string> {
    const ns = this.podNs(n);
    await this.addNs(ns);
    await this.attach(ns, `p${n}`, podIp(n));
    await mustExec(['ip', 'netns', 'exec', ns, 'iptables-restore'], podIptablesRules(appPort, capture));
    await allowLowPorts(ns);
    return ns;
  }

  /** Delete one namespace (its veth and iptables rules go with it). */
  async removeNs(ns: string): Promise<void> {
    await execCmd(['ip', 'netns', 'del', ns]);
    this.created.delete(ns);
  }

  /** Delete every namespace this run created, pods first; never throws. */
  async teardown(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.adding]);
    const order = [...this.created].sort(byTeardownOrder);
    for (const ns of order) {
      try {
        await this.removeNs(ns);
      } catch {
        /* keep going: remove everything we can */
      }
    }
    // Then whatever still carries the run's prefix: the bookkeeping can lose a name (a pod's removeNs
    // forgets it after its del, even if the name was added again meanwhile); one `md<pid>x1-p1` was
    // left after a Ctrl-C while every other namespace went.
    for (const ns of (await LabNet.leftovers(this.prefix).catch(() => [] as string[])).sort(byTeardownOrder)) {
      await execCmd(['ip', 'netns', 'del', ns]).catch(() => undefined);
    }
  }

  /** Namespaces with this run's prefix that still exist (for cleanup checks). */
  static async leftovers(prefix: string): Promise<string[]> {
    const r = await execCmd(['ip', 'netns', 'list']);
    return r.stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${prefix}-`));
  }
}
