/**
 * ztunnel, as far as a pod's shutdown goes (istio/istio architecture/ambient/ztunnel-cni-lifecycle.md):
 * one process on the node, outside every pod, whose listeners live inside each pod's network
 * namespace (in-pod redirection: the CNI hands ztunnel the pod's netns and ztunnel opens its
 * listeners there). It serves a pod's traffic until the pod is deleted — every container has exited
 * (ZDS DelWorkload) — and needs no drain. L4 only: no `connection: close`, no retries.
 *
 * Node cannot enter another namespace, so a short-lived helper (`ztunnel-listen`) is started in the
 * pod's namespace; it opens the listening sockets there and hands them to ztunnel over IPC — the
 * sockets stay in the pod's namespace, the process that serves them does not.
 */
import net from 'node:net';
import { spawn } from 'node:child_process';
import type { ZtunnelConfig, ZtunnelListenConfig } from './config.js';
import { ev, stdinCommands } from './util.js';

type Command = { op: 'add'; id: number; pod: string; ns: string; ip: string; appPort: number } | { op: 'del'; id: number; pod: string };

interface PodListeners {
  servers: net.Server[];
  conns: Set<net.Socket>;
}

export async function ztunnel(cfg: ZtunnelConfig): Promise<void> {
  const pods = new Map<string, PodListeners>();

  /** Pipe two sockets; either side's end or error ends both (an L4 proxy's only answer). */
  const splice = (down: net.Socket, up: net.Socket, pl: PodListeners) => {
    for (const s of [down, up]) {
      pl.conns.add(s);
      s.on('close', () => pl.conns.delete(s));
    }
    down.pipe(up);
    up.pipe(down);
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
  };

  const add = async (m: Extract<Command, { op: 'add' }>): Promise<void> => {
    const pl: PodListeners = { servers: [], conns: new Set() };
    pods.set(m.pod, pl);
    const listenCfg: ZtunnelListenConfig = { ports: [cfg.inboundPlaintextPort, cfg.outboundPort] };
    const helper = spawn('ip', ['netns', 'exec', m.ns, cfg.node, cfg.self, 'ztunnel-listen', JSON.stringify(listenCfg)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const handles = new Map<number, net.Server>();
    await new Promise<void>((resolve, reject) => {
      helper.on('message', (msg: { port: number }, handle: unknown) => {
        if (handle instanceof net.Server) handles.set(msg.port, handle);
        if (handles.size === listenCfg.ports.length) resolve();
      });
      helper.once('exit', (code) => reject(new Error(`ztunnel-listen in ${m.ns} exited (${code}) before handing over its listeners`)));
    });
    helper.send('done');
    // Inbound (15006): to the app at the pod's address. ztunnel's own connections carry mark 0x539
    // and skip capture; here they come from ztunnel's address, which the pod's rules exempt.
    const inbound = handles.get(cfg.inboundPlaintextPort)!;
    inbound.on('connection', (down) => {
      const up = net.connect({ host: m.ip, port: m.appPort });
      splice(down, up, pl);
    });
    // Outbound (15001): to the original destination. Node cannot read SO_ORIGINAL_DST; the app's
    // calls are HTTP/1.1, so the first bytes' Host header names it (as the lab's envoy does).
    const outbound = handles.get(cfg.outboundPort)!;
    outbound.on('connection', (down) => {
      down.once('data', (first: Buffer) => {
        const host = /\r\nhost: *([^\r:]+)(?::(\d+))?\r\n/i.exec(first.toString('latin1'));
        if (!host) {
          down.destroy();
          return;
        }
        const up = net.connect({ host: host[1]!, port: Number(host[2] ?? 80) });
        up.write(first);
        splice(down, up, pl);
      });
      down.on('error', () => down.destroy());
    });
    pl.servers.push(inbound, outbound);
  };

  /** DelWorkload: the pod and all its containers are gone; tear down at once (no drain). */
  const del = (pod: string) => {
    const pl = pods.get(pod);
    pods.delete(pod);
    if (!pl) return;
    for (const s of pl.servers) s.close();
    for (const c of pl.conns) c.destroy();
  };

  ev('ztunnel-ready');
  stdinCommands<Command>((m) => {
    if (m.op === 'add') {
      add(m).then(
        () => ev('added', { id: m.id }),
        (e: Error) => ev('added', { id: m.id, error: e.message }),
      );
    } else if (m.op === 'del') {
      del(m.pod);
      ev('deleted', { id: m.id });
    }
  });
}

/** In the pod's namespace: open ztunnel's listeners, hand them to the parent, exit once it has them. */
export async function ztunnelListen(cfg: ZtunnelListenConfig): Promise<void> {
  for (const port of cfg.ports) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: '0.0.0.0' }, () => resolve());
    });
    process.send?.({ port }, server);
  }
  process.once('message', () => process.exit(0));
  process.once('disconnect', () => process.exit(0));
}
