/** yaml/load: documents nested past what the parser and walkers can recurse through are one clear error. */
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH, loadDocuments } from '../../src/yaml/load.js';
import { injectText } from '../../src/inject/inject.js';
import { expectInputError } from '../helpers/errors.js';

const flow = (n: number) => `apiVersion: v1\nkind: ConfigMap\n---\nkind: ConfigMap\ndata: ${'['.repeat(n)}${']'.repeat(n)}\n`;
const block = (n: number) => `apiVersion: v1\nkind: ConfigMap\n---\n${Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}a:\n`).join('')}${'  '.repeat(n)}b: 1\n`;

describe('nesting depth', () => {
  it.each([
    ['flow lists, 5000 deep (the parser overflowed: "YAML syntax error: Maximum call stack size exceeded")', flow(5000)],
    ['block mappings, 5000 deep', block(5000)],
    ['flow lists just past the limit (parsed, refused before any walker recurses)', flow(MAX_NESTING_DEPTH)],
  ])('%s: "nested too deeply" at the document, exit 2', (_what, text) => {
    const msg = new RegExp(`^deep\\.yaml:3:1: nested too deeply: meshdrain reads documents up to ${MAX_NESTING_DEPTH} levels of mappings and lists$`);
    expectInputError(() => loadDocuments(text, 'deep.yaml'), msg);
    expectInputError(() => injectText(text, 'deep.yaml'), msg);
  });
  it('a document within the limit is read', () => {
    expect(loadDocuments(flow(MAX_NESTING_DEPTH - 2), 'ok.yaml').docs).toHaveLength(2);
    expect(injectText(block(MAX_NESTING_DEPTH - 2), 'ok.yaml').documents).toBe(2);
  });
});
