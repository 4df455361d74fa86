/**
 * Tests that run a real tool (a shell, shellcheck, siege, kubectl) call `needTools(...)` inside their
 * describe block: with the tools present they run; without, each test is reported skipped naming
 * what is missing; under MESHDRAIN_REQUIRE_ROOT_TESTS=1 (CI) a missing tool fails instead.
 */
import { beforeEach } from 'vitest';
// @ts-expect-error plain JS shared with scripts/test-preflight.mjs
import { hasTool, requiredTools } from './tool-list.mjs';

/** Why a test that needs `commands` cannot run here, naming what is missing and how to get it. */
export const toolMissing = (...commands: string[]): string | undefined => {
  const missing = commands.filter((c) => !(hasTool as (c: string) => boolean)(c));
  if (!missing.length) return undefined;
  const listed = new Map((requiredTools as () => { command: string; pkg: string; from?: string }[])().map((t) => [t.command, t]));
  const how = missing.map((c) => listed.get(c)).filter((t) => t?.pkg === '-').map((t) => `${t!.command} from ${t!.from}`);
  const debian = missing.some((c) => listed.get(c)?.pkg !== '-');
  return `needs ${missing.join(', ')} (missing here; ${[debian ? 'sudo bash .ci/run installs it' : '', ...how].filter(Boolean).join('; ')})`;
};

export function needTools(...commands: string[]): void {
  const reason = toolMissing(...commands);
  if (reason && process.env.MESHDRAIN_REQUIRE_ROOT_TESTS === '1') throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but this test ${reason}`);
  beforeEach((ctx) => {
    if (reason) ctx.skip(reason);
  });
}
