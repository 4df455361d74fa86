/**
 * test/setup-yield.ts: between two synchronous tests the worker's event loop turns (so it can read the
 * answers vitest's 60 s worker RPC waits for). Without the setup file the second test fails.
 */
import { expect, it } from 'vitest';

let turned = false;

it('a synchronous test schedules work for the next event-loop turn', () => {
  setImmediate(() => (turned = true));
  expect(turned).toBe(false);
});

it('the event loop turned before the next test began', () => {
  expect(turned).toBe(true);
});
