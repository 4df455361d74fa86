/**
 * Every rule: its failing fixtures trigger it, its passing fixtures do not (fixtures/lint/rules/<id>/),
 * and the examples in its generated docs behave the same way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/engine.js';
import { parseVersion } from '../../src/lint/options.js';
import { RULES } from '../../src/lint/rules/index.js';
import { FIX, fixtureArgs, lintJson } from './helpers.js';

const RULE_DIR = `${FIX}rules`;

describe('rule fixtures', () => {
  it('every rule has at least one failing and one passing fixture, and every fixture dir is a rule', () => {
    const dirs = readdirSync(RULE_DIR).sort();
    expect(dirs).toEqual(RULES.map((r) => r.id).sort());
    for (const d of dirs) {
      const files = readdirSync(`${RULE_DIR}/${d}`);
      expect(files.some((f) => f.startsWith('fail-')), d).toBe(true);
      expect(files.some((f) => f.startsWith('pass-')), d).toBe(true);
    }
  });

  for (const rule of RULES) {
    describe(rule.id, () => {
      const dir = `${RULE_DIR}/${rule.id}`;
      for (const f of readdirSync(dir).sort()) {
        const path = `${dir}/${f}`;
        const text = readFileSync(path, 'utf8');
        const expectFire = f.startsWith('fail-');
        it(`${expectFire ? 'fires on' : 'stays quiet on'} ${f}`, async () => {
          const { findings } = await lintJson([...fixtureArgs(text, dir), path]);
          const mine = findings.filter((x) => x.rule === rule.id);
          if (expectFire) {
            expect(mine.length, JSON.stringify(findings, null, 1)).toBeGreaterThan(0);
            for (const x of mine) {
              // The position names a real line of the file that holds YAML (not a blank or comment
              // line), and a column on it: a finding a person can jump to.
              const lines = (x.file === path ? text : readFileSync(x.file, 'utf8')).split('\n');
              const at = lines[x.line - 1];
              expect(at, `line ${x.line} of ${x.file}`).toBeDefined();
              expect(at!.trim(), `line ${x.line} of ${x.file}`).not.toMatch(/^(#.*)?$/);
              expect(x.column).toBeGreaterThan(0);
              expect(x.column).toBeLessThanOrEqual(at!.length + 1);
              expect(x.fix.length).toBeGreaterThan(10);
              expect(x.severity).toMatch(/^(error|warning|info)$/);
            }
          } else expect(mine, JSON.stringify(mine, null, 1)).toEqual([]);
        });
      }
    });
  }
});

describe('docs examples', () => {
  const flagsOf = (args: string[] = []) => {
    const get = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
    const kube = get('--kube-version');
    const istio = get('--istio-version');
    return { kubeVersion: kube ? parseVersion(kube, 'k') : undefined, istioVersion: istio ? parseVersion(istio, 'i') : undefined };
  };
  for (const rule of RULES) {
    it(`${rule.id}: the "Fails" example fires, the "Passes" example does not`, () => {
      const bad = lint([{ file: 'bad.yaml', text: rule.doc.bad }], [], flagsOf(rule.doc.badArgs)).findings.filter((f) => f.rule === rule.id);
      const good = lint([{ file: 'good.yaml', text: rule.doc.good }], [], flagsOf(rule.doc.goodArgs)).findings.filter((f) => f.rule === rule.id);
      expect(bad.length).toBeGreaterThan(0);
      expect(good).toEqual([]);
    });
  }
  it('rule metadata: stable kebab-case ids, one-line descriptions and fixes', () => {
    const ids = new Set<string>();
    for (const r of RULES) {
      expect(r.id).toMatch(/^[a-z]+(-[a-z]+)+$/);
      expect(ids.has(r.id)).toBe(false);
      ids.add(r.id);
      expect(r.description).not.toMatch(/\n/);
      expect(r.fix).not.toMatch(/\n/);
      expect(r.description.length).toBeLessThan(120);
    }
  });
});
