/**
 * The import graph of src/ obeys .dependency-cruiser.cjs: no cycles (type-only imports included), the
 * core never imports cli/, the leaf modules stay leaves. Runs the real dependency-cruiser CLI.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runAsync } from '../helpers/cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../node_modules/.bin/depcruise', import.meta.url));

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}

async function cruise(dir: string): Promise<Violation[]> {
  // depcruise exits non-zero when there are violations; the JSON is still on stdout.
  const r = await runAsync(bin, [dir, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: root });
  if (!r.stdout) throw new Error(`depcruise exited ${r.status}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const describeViolation = (v: Violation): string =>
  `${v.rule.name}: ${v.from} → ${v.cycle ? v.cycle.map((c) => c.name).join(' → ') : v.to}`;

describe('import graph', () => {
  it('src/ has no import cycles, no core → cli edge, and leaf modules import nothing', async () => {
    expect((await cruise('src')).map(describeViolation)).toEqual([]);
  });

  it('the check sees a cycle made only of type imports (so the test above can fail)', async () => {
    const found = await cruise('test/structure/fixtures/type-cycle');
    expect(found.map((v) => v.rule.name)).toContain('no-circular');
    expect(found.map(describeViolation).join('\n')).toMatch(/a\.ts → .*b\.ts → .*a\.ts|b\.ts → .*a\.ts → .*b\.ts/);
  });
});
