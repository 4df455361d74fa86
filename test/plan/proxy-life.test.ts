/** How long istio-proxy serves the app under a hold: one formula for inject's note and lint's rule. */
import { describe, expect, it } from 'vitest';
import { holdDrainsAtStart, holdExecCommand } from '../../src/hooks/hold.js';
import { holdShape, parseWaitFor } from '../../src/plan/hold-settings.js';
import { proxyLifeSeconds } from '../../src/plan/budget.js';

describe('proxy life under a hold', () => {
  it('the hold, then the drain; without the drain when the hold asked for it at its start', () => {
    expect(proxyLifeSeconds(10, 5, false)).toBe(15);
    expect(proxyLifeSeconds(10, 5, true)).toBe(10);
  });
  it("a rendered hold says whether it drains at start, as lint reads it back from the pod's command", () => {
    const hold = (waitFor: string[]) => ({ ...holdShape(parseWaitFor(waitFor)), timeoutMs: 10_000, intervalMs: 200 });
    const conns = hold(['app-listeners', 'app-connections']);
    expect(conns.drainAtStart).toBe(true);
    expect(holdDrainsAtStart(holdExecCommand(conns).join('\n'))).toBe(true);
    expect(holdDrainsAtStart(holdExecCommand(hold(['app-listeners'])).join('\n'))).toBe(false);
  });
});
