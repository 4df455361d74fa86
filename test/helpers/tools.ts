/**
 * Tests that run a real tool (a shell, shellcheck, siege, kubectl) call `needTools(...)` inside their
 * describe block: with the tools present they run; without, each test is reported skipped naming
 * what is missing; under MESHDRAIN_REQUIRE_ROOT_TESTS=1 (CI) a missing tool fails instead.
 */
import { beforeEach } from 'vitest';
// @ts-expect-error plain JS shared with scripts/test-preflight.mjs
import { hasTool } from './tool-list.mjs';

export const toolMissing = (...commands: string[]): string | undefined => {
  const missing = commands.filter((c) => !(hasTool as (c: string) => boolean)(c));
  return missing.length ? `needs ${missing.join(', ')} (missing here; sudo bash .ci/run installs it)` : undefined;
};

export function needTools(...commands: string[]): void {
  const reason = toolMissing(...commands);
  if (reason && process.env.MESHDRAIN_REQUIRE_ROOT_TESTS === '1') throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but this test ${reason}`);
  beforeEach((ctx) => {
    if (reason) ctx.skip(reason);
  });
}
