/**
 * `lab --manifest … --json`: stdout is one JSON document, and stderr carries, beside the answer line,
 * the notes that change what the verdict means — here that the lab runs one app container of two, so
 * the other's shutdown is not in the verdict (qa7 F16; a custom injection template it cannot run is
 * now refused, ADR 096).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAsync } from '../helpers/cli.js';
import { labRoot, requireLabRoot } from './fixture.js';

const root = labRoot(['ip', 'iptables-restore', 'setpriv', 'unshare', 'chroot']);
requireLabRoot('lab --manifest --json notes', root);
const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;

describe.skipIf(!root.ok || !existsSync(BIN))('meshdrain lab --manifest --json', () => {
  it('puts the notes on stderr too, not only into the JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshdrain-json-notes-'));
    try {
      const plain = readFileSync(new URL('../../fixtures/lab/manifests/plain.yaml', import.meta.url), 'utf8');
      // One pod: spec.replicas (--replicas is refused with --manifest, ADR 094; it was silently dropped here).
      const twoApps = `${plain.replace('  replicas: 3\n', '  replicas: 1\n')}      - name: helper\n        image: helper:1\n`;
      expect(twoApps).toContain('  replicas: 1\n');
      writeFileSync(join(dir, 'two.yaml'), twoApps);
      const r = await runAsync(process.execPath, [BIN, 'lab', '--manifest', 'two.yaml', '--duration', '2s', '--min-requests', '0', '--propagation-delay', '1s', '--app-shutdown', '2s', '--istio-version', '1.24', '--kube-version', '1.30', '--json'], { cwd: dir, timeoutMs: 240_000 });
      expect([0, 1], r.stderr.slice(-1500)).toContain(r.status);
      const json = JSON.parse(r.stdout) as { scenarios: { notes?: string[] }[]; lab: { rollout: { replicas: number }; workload: string } };
      expect(json.lab).toMatchObject({ rollout: { replicas: 1 }, workload: 'Deployment/web' });
      const note = json.scenarios.flatMap((s) => s.notes ?? []).find((n) => n.startsWith('container helper: the lab runs one app'));
      expect(note).toBeDefined();
      expect(r.stderr).toContain(`meshdrain lab: note: ${note}\n`);
      // The answer line still comes first.
      expect(r.stderr.indexOf('meshdrain lab: note: container helper')).toBeGreaterThan(r.stderr.search(/meshdrain lab: Deployment\/web: /));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
