/**
 * The global teardown (test/global-netns.ts) removes the network namespaces of its own run — also
 * those a killed process left behind — and never another run's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { leftoverNamespaces, removeTaggedNamespaces } from '../global-netns.js';
import { netnsTag } from '../helpers/netns-tag.js';
import { rootStatus } from '../hooks/netns.js';

const root = rootStatus();
const exists = (ns: string) => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').some((l) => l.split(' ')[0] === ns);

describe.skipIf(!root.ok)('test-run namespace teardown', () => {
  it('this run is tagged (the global setup ran)', () => {
    expect(netnsTag()).toMatch(/^[a-z]{6}$/);
  });

  it('removes what a SIGTERMed process left in its namespaces, and only this tag', async () => {
    // Tags of two fake runs, so the real run's namespaces are not touched by this test either.
    const mine = 'qqmine';
    const other = 'qqother';
    const killed = `hook${mine}${process.pid}a0`;
    const lab = `md${mine}${process.pid}x1-lab`;
    const foreign = `hook${other}${process.pid}a0`;
    try {
      // A "worker" that made a namespace, started a listener-like process inside it, then was killed.
      const worker = spawn('sh', ['-c', `ip netns add ${killed} && ip netns add ${lab} && ip netns add ${foreign} && ip netns exec ${killed} sleep 300 & wait`], { stdio: 'ignore', detached: true });
      for (let i = 0; i < 100 && !(exists(killed) && exists(lab) && exists(foreign)); i++) await new Promise((r) => setTimeout(r, 20));
      process.kill(-worker.pid!, 'SIGTERM');
      expect(leftoverNamespaces(mine).sort()).toEqual([killed, lab].sort());
      expect(removeTaggedNamespaces(mine).sort()).toEqual([killed, lab].sort());
      expect(exists(killed)).toBe(false);
      expect(exists(lab)).toBe(false);
      expect(exists(foreign)).toBe(true);
      expect(leftoverNamespaces('')).toEqual([]); // no tag: matches nothing
    } finally {
      for (const ns of [killed, lab, foreign]) spawnSync('ip', ['netns', 'del', ns]);
    }
  });
});
