/** meshdrain's own hold is recognized by an exact re-render, not by text it contains. */
import { describe, expect, it } from 'vitest';
import { analyzeHook } from '../../src/analysis/analyze.js';
import { ownAppWait, ownHold } from '../../src/analysis/own-hold.js';
import { appWaitExecCommand, renderAppWaitScript } from '../../src/hooks/app-wait.js';
import { holdExecCommand, renderHoldScript } from '../../src/hooks/hold.js';
import { holdCommand } from '../../src/istio/holds.js';
import type { HoldSpec } from '../../src/plan/types.js';
import { lintJson } from '../lint/helpers.js';

const hold: HoldSpec = { strategies: [{ kind: 'app-listeners' }, { kind: 'ports', ports: [8080, 9090] }], timeoutMs: 23_000, intervalMs: 200 };
const shell = { kind: 'init-container' as const, image: 'busybox:1.37.0-musl', mountPath: '/meshdrain/bin' };

describe('ownHold: exact re-render', () => {
  it.each([
    ['inject (image shell)', holdExecCommand(hold)],
    ['inject (brought-in shell)', holdExecCommand(hold, shell)],
    ['template/catalog with a note line', holdCommand(hold, { kind: 'image' }, 'catalog entry ports=8080 (annotation)')],
    ['meshdrain hook output under /bin/sh -c', ['/bin/sh', '-c', renderHoldScript(hold)]],
  ])('%s: recognized, bounded by its timeout', (_, argv) => {
    expect(ownHold(argv)).toEqual(hold);
    const a = analyzeHook(argv);
    expect(a.maxHoldMs).toBe(23_000);
    expect(a.waits).toBe(true);
  });

  it("inject's default hold (ADR 015): linger and pilot-agent's drain at start are read back; it stays a hold, not a drain", () => {
    const h: HoldSpec = { strategies: [{ kind: 'app-listeners' }, { kind: 'app-connections' }], timeoutMs: 51_000, intervalMs: 200, lingerMs: 1000, drainAtStart: true };
    for (const argv of [holdExecCommand(h), holdExecCommand(h, shell)]) {
      expect(ownHold(argv)).toEqual(h);
      const a = analyzeHook(argv);
      expect(a.ownHold).toEqual(h);
      expect(a.pilotAgentDrain).toBe(true);
      expect(a.maxHoldMs).toBe(51_000);
    }
    const { drainAtStart: _, ...noDrain } = h;
    expect(ownHold(holdExecCommand(noDrain))).toEqual(noDrain);
    // a linger changed in the log line only: the loop compares against another number
    const [sh, c, script] = holdExecCommand(h);
    expect(ownHold([sh!, c!, script!.replace('release after 1s with', 'release after 2s with')])).toBeNull();
  });

  it("the app's traffic-gone wait: recognized by re-render, bounded by its maxDelay; an edit is not ours", () => {
    const w = { quietMs: 1500, maxMs: 12_000, intervalMs: 200 };
    for (const argv of [appWaitExecCommand(w), appWaitExecCommand(w, shell), ['/bin/sh', '-c', renderAppWaitScript(w)]]) {
      expect(ownAppWait(argv)).toEqual(w);
      const a = analyzeHook(argv);
      expect(a.appWait).toEqual(w);
      expect(a.maxHoldMs).toBe(12_000);
      expect(a.loops.every((l) => l.boundMs === 12_000)).toBe(true);
    }
    const [sh, c, script] = appWaitExecCommand(w);
    const edited = script!.replace('at most 12s)', 'at most 1s)');
    expect(ownAppWait([sh!, c!, edited])).toBeNull();
    expect(analyzeHook([sh!, c!, edited]).appWait).toBeUndefined();
  });

  it('one byte changed anywhere: not ours, and the generic analysis says unbounded', () => {
    const [sh, c, script] = holdExecCommand(hold);
    const edited = script!.replace('meshdrain_wait\n', 'while :; do sleep 1; done\nmeshdrain_wait\n');
    expect(edited).not.toBe(script);
    expect(ownHold([sh!, c!, edited])).toBeNull();
    expect(analyzeHook([sh!, c!, edited]).maxHoldMs).toBeNull();
    // The timeout in the log line no longer matches the loop's own comparison: a different hold.
    const retimed = script!.replace('timeout 23s, interval', 'timeout 1s, interval');
    expect(ownHold([sh!, c!, retimed])).toBeNull();
  });

  it('an endless loop that only quotes the hold text is not trusted', () => {
    const script = [
      "# meshdrain hold for istio-proxy's preStop: app-listeners",
      'echo "start: holding istio-proxy while: app-listeners; timeout 1s, interval 1s; log to stderr"',
      'while true; do sleep 1; done',
    ].join('\n');
    expect(ownHold(['/bin/sh', '-c', script])).toBeNull();
    const a = analyzeHook(['/bin/sh', '-c', script]);
    expect(a.maxHoldMs).toBeNull();
    expect(a.loops.map((l) => l.boundMs)).toEqual([null]);
  });
});

const pod = (command: string[]) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 60
      containers:
      - name: app
        image: app:1
      - name: istio-proxy
        image: auto
        lifecycle:
          preStop:
            exec:
              command: ${JSON.stringify(command)}
`;

describe('lint sees through the text (hook-no-timeout)', () => {
  it('flags an endless loop that carries "meshdrain hold … timeout 1s"', async () => {
    const script = "# meshdrain hold for istio-proxy's preStop: app-listeners\n: 'start: holding istio-proxy while: app-listeners; timeout 1s, interval 1s; log to stderr'\nwhile true; do sleep 1; done";
    const { findings } = await lintJson(['-'], { stdin: pod(['/bin/sh', '-c', script]) });
    expect(findings.filter((f) => f.rule === 'hook-no-timeout').map((f) => f.line)).toEqual([18]);
  });

  it("does not flag meshdrain's own hold", async () => {
    const { findings } = await lintJson(['-'], { stdin: pod(holdExecCommand({ ...hold, timeoutMs: 50_000 })) });
    expect(findings.map((f) => f.rule)).not.toContain('hook-no-timeout');
  });
});
