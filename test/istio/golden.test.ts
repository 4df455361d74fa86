/**
 * Golden outputs on the real ConfigMaps, for review: what the patch adds, line by line. The hold
 * scripts themselves belong to the hook generator (tested there) and are replaced by a marker so these
 * files change only when the injector's own output changes. Update: npx vitest run test/istio -u
 */
import { describe, expect, it } from 'vitest';
import { holdFromOptions } from '../../src/istio/holds.js';
import { patchInjectorConfigMap } from '../../src/istio/injector.js';
import { renderTemplateOutput } from '../../src/istio/template.js';
import { FIX, INJECTOR, read } from './helpers.js';

const hold = holdFromOptions({});

/** Replace generated scripts (JSON strings with newlines) by a marker naming their first line. */
function normalize(text: string): string {
  return text.replace(/"((?:[^"\\\n]|\\.)*\\n(?:[^"\\\n]|\\.)*)"/g, (_m, body: string) => {
    const first = JSON.parse(`"${body}"`).split('\n')[0] as string;
    return `"<generated hold; first line: ${first.replace(/["\\]/g, '')}>"`;
  });
}

/** The lines the patch inserted (output minus the input's common prefix and suffix). */
function addedLines(src: string, out: string): string {
  const a = src.split('\n');
  const b = out.split('\n');
  let p = 0;
  while (a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  return `# lines ${p + 1}-${b.length - s} of the output; everything else is the input, byte for byte\n${b.slice(p, b.length - s).join('\n')}\n`;
}

describe('golden', () => {
  for (const [name, file] of [
    ['istio-1.5.10', INJECTOR.v15],
    ['istio-current', INJECTOR.modern],
  ] as const) {
    for (const mode of ['annotation', 'global'] as const) {
      it(`${name} --mode ${mode}`, async () => {
        const src = read(file);
        const out = patchInjectorConfigMap(src, file, { mode, hold }).text;
        await expect(normalize(addedLines(src, out))).toMatchFileSnapshot(`${FIX}golden/${name}.${mode}.added.txt`);
      });
    }
  }
  it('istio template --format helm-values', async () => {
    await expect(normalize(renderTemplateOutput('helm-values', { hold }))).toMatchFileSnapshot(`${FIX}golden/template.helm-values.yaml`);
  });
});
