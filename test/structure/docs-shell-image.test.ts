/**
 * One busybox version across the docs: the one meshdrain writes (constants.ts DEFAULT_SHELL_IMAGE), so a
 * reader who copies an example gets the image inject, hook, image and istio template use (QA 9 F14).
 * ADRs are records of their day and keep the version they were written with.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SHELL_IMAGE } from '../../src/constants.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const files = [
  'README.md',
  ...readdirSync(`${ROOT}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  ...readdirSync(`${ROOT}docs/rules`).filter((f) => f.endsWith('.md')).map((f) => `docs/rules/${f}`),
];

describe('docs name one busybox image', () => {
  it(`every bare busybox:<version> in README.md, docs/ and docs/rules/ is ${DEFAULT_SHELL_IMAGE}`, () => {
    const found: string[] = [];
    for (const f of files) {
      // A bare reference, not a mirror path (registry.example.com/mirror/busybox:… is the user's own).
      for (const m of readFileSync(`${ROOT}${f}`, 'utf8').matchAll(/(?<![\w./-])busybox:[0-9][\w.-]*[\w]/g)) found.push(`${f}: ${m[0]}`);
    }
    expect(found.length).toBeGreaterThan(3);
    expect(found.filter((x) => !x.endsWith(`: ${DEFAULT_SHELL_IMAGE}`))).toEqual([]);
  });
});
