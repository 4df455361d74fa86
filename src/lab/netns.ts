/**
 * The lab's network: one "lab" namespace holding a bridge, and a namespace per pod, client and
 * external service, each joined to the bridge by a veth pair created directly inside the lab
 * namespace. Nothing is created in the host's namespace, so deleting our namespaces removes every
 * interface and iptables rule we made (docs/adr/050-lab-isolation.md).
 */
import { INBOUND_CAPTURE_PORT, OUTBOUND_CAPTURE_PORT, PROXY_UID } from '../istio/facts.js';
import { execCmd, mustExec } from './exec.js';

/** Addresses come from the benchmarking range 198.18.0.0/15 only. */
export const LAB_CIDR_PREFIX = 16;
export const CLIENT_IP = '198.18.0.2';
export const EXTERNAL_IP = '198.18.0.3';

let runCounter = 0;

/** A unique, short name prefix for one lab run: md<pid>x<n> (netns names stay well under limits). */
export function newRunPrefix(): string {
  runCounter += 1;
  return `md${process.pid}x${runCounter}`;
}

/** Pod n's address: 198.18.1.1, 198.18.1.2, ... (250 per /24, then the next). */
export function podIp(n: number): string {
  return `198.18.${1 + Math.floor(n / 250)}.${(n % 250) + 1}`;
}

/** Istio-style interception for one pod (iptables-restore input for the nat table). */
export function podIptablesRules(appPort: number): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':MD_INBOUND - [0:0]',
    ':MD_OUTPUT - [0:0]',
    '-A PREROUTING -p tcp -j MD_INBOUND',
    `-A MD_INBOUND -p tcp --dport ${appPort} -j REDIRECT --to-ports ${INBOUND_CAPTURE_PORT}`,
    '-A OUTPUT -p tcp -j MD_OUTPUT',
    `-A MD_OUTPUT -m owner --uid-owner ${PROXY_UID} -j RETURN`,
    '-A MD_OUTPUT -d 127.0.0.0/8 -j RETURN',
    `-A MD_OUTPUT -p tcp -j REDIRECT --to-ports ${OUTBOUND_CAPTURE_PORT}`,
    'COMMIT',
    '',
  ].join('\n');
}

export class LabNet {
  readonly labNs: string;
  readonly clientNs: string;
  readonly externalNs: string;
  /** Every namespace we asked for, recorded before creation so a half-made one is still removed. */
  private readonly created = new Set<string>();

  constructor(readonly prefix: string) {
    this.labNs = `${prefix}-lab`;
    this.clientNs = `${prefix}-cli`;
    this.externalNs = `${prefix}-ext`;
  }

  podNs(n: number): string {
    return `${this.prefix}-p${n}`;
  }

  private async addNs(name: string): Promise<void> {
    this.created.add(name);
    await mustExec(['ip', 'netns', 'add', name]);
    await mustExec(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
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
    await this.addNs(this.externalNs);
    await this.attach(this.externalNs, 'ext', EXTERNAL_IP);
  }

  /** A pod's namespace with its address and Istio-style interception. Returns the namespace name. */
  async addPod(n: number, appPort: number): Promise<string> {
    const ns = this.podNs(n);
    await this.addNs(ns);
    await this.attach(ns, `p${n}`, podIp(n));
    await mustExec(['ip', 'netns', 'exec', ns, 'iptables-restore'], podIptablesRules(appPort));
    return ns;
  }

  /** Delete one namespace (its veth and iptables rules go with it). */
  async removeNs(ns: string): Promise<void> {
    await execCmd(['ip', 'netns', 'del', ns]);
    this.created.delete(ns);
  }

  /** Delete every namespace this run created, pods first; never throws. */
  async teardown(): Promise<void> {
    const order = [...this.created].sort((a, b) => rank(a) - rank(b));
    for (const ns of order) {
      try {
        await this.removeNs(ns);
      } catch {
        /* keep going: remove everything we can */
      }
    }
    function rank(ns: string): number {
      return ns.endsWith('-lab') ? 2 : ns.endsWith('-cli') || ns.endsWith('-ext') ? 1 : 0;
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
