/**
 * A pod's namespace lets its containers bind ports below 1024 without CAP_NET_BIND_SERVICE, as
 * Docker and containerd 2.0's CRI set it up (net.ipv4.ip_unprivileged_port_start=0 in the pod's
 * network namespace; ADR 094). QA 9 finding 2: a manifest with containerPort 80 died with EACCES.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { LabNet, newRunPrefix, UNPRIVILEGED_PORT_SYSCTL } from '../../src/lab/netns.js';
import { inNsArgv } from '../../src/lab/procs.js';
import { APP_UID } from '../../src/lab/scenarios.js';
import { labRoot, requireLabRoot } from './fixture.js';

const root = labRoot(['ip', 'iptables-restore', 'setpriv', 'sysctl']);
requireLabRoot('low ports', root);

/** Bind 0.0.0.0:port in `ns` as the lab app's UID; the listen's outcome ('ok' or the error code). */
function bindAsApp(ns: string, port: number): string {
  const js = `require('net').createServer().on('error',(e)=>{console.log(e.code);process.exit(0)}).listen(${port},'0.0.0.0',function(){console.log('ok');this.close()})`;
  const argv = inNsArgv(ns, APP_UID, [process.execPath, '-e', js]);
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
}

describe.skipIf(!root.ok)('pod namespaces and low ports', () => {
  const net = new LabNet(newRunPrefix());
  afterAll(() => net.teardown(), 30_000);

  it('a pod namespace has ip_unprivileged_port_start 0 and the app binds port 80; the host is untouched', async () => {
    const hostBefore = readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim();
    await net.setup();
    const ns = await net.addPod(0, 80, 'sidecar');
    const read = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', UNPRIVILEGED_PORT_SYSCTL], { encoding: 'utf8' });
    expect(read.stdout.trim()).toBe('0');
    expect(bindAsApp(ns, 80)).toBe('ok');
    // The client namespace is not a pod: it keeps the kernel's default, so the check above can fail.
    if (Number(hostBefore) > 80) expect(bindAsApp(net.clientNs, 80)).toBe('EACCES');
    expect(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()).toBe(hostBefore);
  });
});
