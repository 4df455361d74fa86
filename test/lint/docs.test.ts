/**
 * docs/rules/<id>.md and docs/rules/README.md are generated from the rules; they must be current.
 * Regenerate: MESHDRAIN_UPDATE_DOCS=1 npx vitest run test/lint/docs.test.ts
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderRuleIndex, renderRuleMarkdown } from '../../src/lint/docs.js';
import { RULES } from '../../src/lint/rules/index.js';
import { ROOT } from './helpers.js';

const DIR = `${ROOT}docs/rules`;
const UPDATE = process.env.MESHDRAIN_UPDATE_DOCS === '1';

describe('generated rule docs', () => {
  if (UPDATE) {
    mkdirSync(DIR, { recursive: true });
    for (const r of RULES) writeFileSync(`${DIR}/${r.id}.md`, renderRuleMarkdown(r));
    writeFileSync(`${DIR}/README.md`, renderRuleIndex());
  }
  for (const r of RULES) {
    it(`${r.id}.md is up to date`, () => {
      const path = `${DIR}/${r.id}.md`;
      expect(existsSync(path), `${path} missing: regenerate`).toBe(true);
      expect(readFileSync(path, 'utf8')).toBe(renderRuleMarkdown(r));
    });
  }
  it('the index lists every rule and nothing else is in docs/rules', () => {
    expect(readFileSync(`${DIR}/README.md`, 'utf8')).toBe(renderRuleIndex());
    expect(readdirSync(DIR).sort()).toEqual(['README.md', ...RULES.map((r) => `${r.id}.md`)].sort());
  });
});
