#!/usr/bin/env node
// `npm test` runs this first: the suite runs real shells, shellcheck, iptables, siege and kubectl. On a
// machine without them it stops at once with one line naming what to install, instead of failing
// deep inside the tests. MESHDRAIN_SKIP_MISSING_TOOLS=1 runs the suite anyway; tests that need a
// missing tool are then reported skipped, naming it (test/helpers/tools.ts). Under
// MESHDRAIN_REQUIRE_ROOT_TESTS=1 (CI) a missing tool is a failure, never a skip.
import { missingTools } from '../test/helpers/tool-list.mjs';

const missing = missingTools();
if (missing.length === 0) process.exit(0);
const names = missing.map((t) => t.command).join(', ');
const apt = missing.filter((t) => t.pkg !== '-');
const how = [apt.length ? 'sudo bash .ci/run (installs the Debian packages, then runs the tests)' : '', ...missing.filter((t) => t.pkg === '-').map((t) => `${t.command} from ${t.from ?? 'its project'}`)]
  .filter(Boolean)
  .join('; ');
if (process.env.MESHDRAIN_REQUIRE_ROOT_TESTS === '1') {
  console.error(`npm test: missing ${names}, and MESHDRAIN_REQUIRE_ROOT_TESTS=1 forbids skipping; install: ${how}`);
  process.exit(1);
}
if (process.env.MESHDRAIN_SKIP_MISSING_TOOLS === '1') {
  console.error(`npm test: missing ${names}; the tests that need them are reported skipped`);
  process.exit(0);
}
console.error(`npm test: missing ${names}; install: ${how} — or MESHDRAIN_SKIP_MISSING_TOOLS=1 npm test to skip the tests that need them`);
process.exit(1);
