/**
 * `--manifest` for real (network namespaces, iptables, the proxy image's root): the seed
 * hooks as users wrote them, and a plain Deployment after meshdrain inject, in one bounded run with
 * 3 s endpoint propagation. The app listens on the manifest's one port (no second metrics port).
 * Then the same injected Deployment with an app that closes its port at SIGTERM (the issue's
 * `--app-closes-port --propagation-delay 3s`): the hold's app-connections wait keeps istio-proxy up
 * while the app's shutdown calls go out, so nothing fails.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LabNet } from '../../src/lab/netns.js';
import { answerLine, type ScenarioSummary } from '../../src/lab/report.js';
import { manifestScenarios, type Scenario } from '../../src/lab/scenarios.js';
import { CELL_COLORS } from '../../src/lab/matrix.js';
import { runAsync } from '../helpers/cli.js';
import { injectText } from '../../src/inject/inject.js';
import { CHROMIUM, colouredCells, readPng, runChromium } from '../helpers/png.js';
import { labRoot, requireLabRoot, runAndSummarize } from './fixture.js';

const root = labRoot(['ip', 'iptables-restore', 'setpriv', 'unshare', 'chroot', 'netstat']);
requireLabRoot('lab --manifest', root);

const read = (name: string) => readFileSync(new URL(`../../fixtures/lab/manifests/${name}`, import.meta.url), 'utf8');
const rename = (sc: Scenario, name: string): Scenario => ({ ...sc, name });

describe.skipIf(!root.ok)('meshdrain lab --manifest on real namespaces', () => {
  let prefix = '';
  let sums: Record<string, ScenarioSummary> = {};

  beforeAll(async () => {
    const template = manifestScenarios(read('seed-template-netstat.yaml'), 'seed-template-netstat.yaml', {}).scenarios[0]!;
    const port = manifestScenarios(read('seed-port-20000.yaml'), 'seed-port-20000.yaml', { proxyVariant: 'distroless' }).scenarios[0]!;
    const plain = manifestScenarios(read('plain.yaml'), 'plain.yaml', { compareInject: true }).scenarios[1]!;
    // A distroless pod after inject: its hold runs /meshdrain/bin/sh, which the init container copies
    // onto the emptyDir istio-proxy mounts (ADR 085); and the same pod with that init container taken out.
    const distroless = manifestScenarios(read('plain-distroless.yaml'), 'plain-distroless.yaml', { compareInject: true }).scenarios[1]!;
    const withoutInit = injectText(read('plain-distroless.yaml'), 'plain-distroless.yaml').output.replace(/      initContainers:\n(?: {6}- | {8}).*\n(?: {8,}.*\n)*/, '');
    const noShell = manifestScenarios(withoutInit, 'plain-distroless.yaml', {}).scenarios[0]!;
    ({ sums, prefix } = await runAndSummarize({
      scenarios: [],
      scenarioList: [
        rename(template, 'template-netstat'),
        rename(port, 'port-20000-distroless'),
        rename(plain, 'plain-injected'),
        rename(distroless, 'distroless-injected'),
        rename(noShell, 'distroless-injected-no-init'),
      ],
      minRequests: 0,
      durationMs: 0,
      warmupMs: 1000,
      propagationDelayMs: 3000,
    }));
  }, 400_000);

  it('the template netstat loop (default image) holds every pod until SIGKILL; the answer says so', () => {
    const s = sums['template-netstat']!;
    expect(s.podsKilled, answerLine(s)).toBe(s.podsTerminated);
    expect(s.podsTerminated).toBe(3);
    expect(s.reproduced).toBe(false);
    expect(answerLine(s)).toMatch(/^Deployment\/web: NOT safe: .*3 of 3 pods SIGKILLed at terminationGracePeriodSeconds 20s \(a preStop still running: held until SIGKILL\)/);
    expect(s.maxTerminationSeconds).toBeGreaterThanOrEqual(19.5);
  });

  it("the port-20000 loop under distroless: FailedPreStopHook at once, the proxy exits before the app, outbound calls fail", () => {
    const s = sums['port-20000-distroless']!;
    expect(s.proxyVariant).toBe('distroless');
    for (const p of s.pods) {
      expect(p.preStops).toContainEqual({ container: 'istio-proxy', ok: false, detail: 'FailedPreStopHook: /bin/sh is not in the proxy image' });
      expect(p.proxyOutlivedAppSeconds).toBeLessThan(0);
    }
    expect(s.failedEgress).toBeGreaterThan(0);
    expect(s.podsKilled).toBe(0);
    expect(answerLine(s)).toMatch(/NOT safe: .*outbound calls failed .*FailedPreStopHook: \/bin\/sh is not in the proxy image/);
  });

  it('a plain Deployment after meshdrain inject: nothing lost, nothing SIGKILLed (3 s propagation)', () => {
    const s = sums['plain-injected']!;
    expect(s.requests).toBeGreaterThan(1000);
    expect(s.failedRequests, answerLine(s)).toBe(0);
    expect(s.failedEgress, answerLine(s)).toBe(0);
    expect(s.podsKilled).toBe(0);
    expect(s.reproduced).toBe(true);
    expect(answerLine(s)).toMatch(/^Deployment\/web: safe in this run/);
  });

  it("a distroless pod after inject: the hold runs from the init container's busybox and holds (nothing lost)", () => {
    const s = sums['distroless-injected']!;
    expect(s.proxyVariant).toBe('distroless');
    for (const p of s.pods) {
      expect(p.preStops.find((h) => h.container === 'istio-proxy'), JSON.stringify(p.preStops)).toEqual({ container: 'istio-proxy', ok: true, detail: 'exit 0' });
      expect(p.proxyOutlivedAppSeconds).toBeGreaterThan(0);
    }
    expect(s.failedRequests, answerLine(s)).toBe(0);
    expect(s.failedEgress, answerLine(s)).toBe(0);
    expect(s.podsKilled).toBe(0);
    expect(answerLine(s)).toMatch(/^Deployment\/web: safe in this run/);
  });

  it('the same pod without the init container: the hook finds no /meshdrain/bin/sh (FailedPreStopHook), outbound calls fail', () => {
    const s = sums['distroless-injected-no-init']!;
    for (const p of s.pods) {
      expect(p.preStops, JSON.stringify(p.preStops)).toContainEqual({ container: 'istio-proxy', ok: false, detail: 'FailedPreStopHook: /meshdrain/bin/sh is not in the proxy image' });
      expect(p.proxyOutlivedAppSeconds).toBeLessThan(0);
    }
    expect(s.failedEgress).toBeGreaterThan(0);
    expect(answerLine(s)).toMatch(/NOT safe: .*FailedPreStopHook: \/meshdrain\/bin\/sh is not in the proxy image/);
  });

  it('leaves no namespace behind', async () => {
    expect(await LabNet.leftovers(prefix)).toEqual([]);
  });
});

describe.skipIf(!root.ok)('a plain Deployment after inject, the app closing its port at SIGTERM, 3 s propagation', () => {
  let prefix = '';
  let sums: Record<string, ScenarioSummary> = {};
  beforeAll(async () => {
    const plain = manifestScenarios(read('plain.yaml'), 'plain.yaml', { compareInject: true }).scenarios[1]!;
    ({ sums, prefix } = await runAndSummarize({ scenarios: [], scenarioList: [plain], appClosesPortOnSigterm: true, minRequests: 0, durationMs: 0, warmupMs: 1000, propagationDelayMs: 3000 }));
  }, 300_000);

  it('nothing lost, nothing SIGKILLed: exit 0 for the judged row', () => {
    const s = sums['manifest-injected']!;
    expect(s.app.closesPort).toBe(true);
    expect(s.propagationDelaySeconds).toBe(3);
    expect(s.egressCalls).toBeGreaterThan(0);
    expect(s.failedRequests, answerLine(s)).toBe(0);
    expect(s.failedEgress, answerLine(s)).toBe(0);
    expect(s.podsKilled).toBe(0);
    expect(s.reproduced).toBe(true);
  });

  it('leaves no namespace behind', async () => {
    expect(await LabNet.leftovers(prefix)).toEqual([]);
  });
});

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;

describe.skipIf(!root.ok || !existsSync(BIN))('meshdrain lab --quick (the CLI, a reduced sweep for CI)', () => {
  it('shows the race in one table and an HTML matrix with one linked cell per entry, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshdrain-quick-'));
    try {
      const report = join(dir, 'quick.html');
      const t0 = Date.now();
      const r = await runAsync(process.execPath, [BIN, 'lab', '--quick', '--report', report], { timeoutMs: 400_000 });
      const seconds = (Date.now() - t0) / 1000;
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      // The bound for CI: the whole quick run, start to exit, under 3 minutes (measured 82-90 s).
      expect(seconds, `lab --quick took ${seconds.toFixed(0)} s`).toBeLessThan(180);
      expect(r.stdout).toMatch(/^scenario +protocol +delay +app +failed\/requests +failed\/outbound/m);
      const noHold = /^no-hold +http1 +3s +serves-until-exit +(\d+)\/\d+ +(\d+)\/\d+/m.exec(r.stdout);
      const md = /^meshdrain +http1 +3s +serves-until-exit +(\d+)\/\d+ +(\d+)\/\d+/m.exec(r.stdout);
      expect(Number(noHold![2])).toBeGreaterThan(0);
      expect([Number(md![1]), Number(md![2])]).toEqual([0, 0]);
      expect(r.stderr).toMatch(/sweep 1\/2 done, ~\d+s left/);
      const html = readFileSync(report, 'utf8');
      expect(html.match(/<td class="cell"/g)).toHaveLength(2);
      expect(html).toContain('href="#meshdrain--http1--3s--serves-until-exit"');
      expect(html).toContain('<section id="meshdrain--http1--3s--serves-until-exit">');
      if (CHROMIUM) {
        // The real sweep's page in a real browser: the matrix (top of the page) shows one coloured
        // cell per entry, meshdrain's green (nothing failed), no-hold's not.
        const png = process.env.MESHDRAIN_KEEP_PNG ?? join(dir, 'quick.png');
        runChromium([`--screenshot=${png}`, '--window-size=1300,420', `file://${report}`]);
        const cells = colouredCells(readPng(readFileSync(png)), Object.values(CELL_COLORS));
        expect(Object.values(cells).reduce((a, b) => a + b, 0), JSON.stringify(cells)).toBe(2);
        expect(cells[CELL_COLORS.none], JSON.stringify(cells)).toBe(1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 420_000);
});
