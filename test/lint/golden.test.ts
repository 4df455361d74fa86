/**
 * Golden findings over the real manifests in fixtures/lint/real (copied from ../shared/fixtures/real).
 * Each file is linted on its own (an injector ConfigMap in one file must not leak into another), with
 * default options and with Kubernetes 1.33 / Istio 1.27 (native sidecars on by default).
 * Regenerate after a deliberate change: MESHDRAIN_UPDATE_GOLDEN=1 npx vitest run test/lint/golden.test.ts
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIX, ROOT, lintCli } from './helpers.js';

const REAL = 'fixtures/lint/real';
const UPDATE = process.env.MESHDRAIN_UPDATE_GOLDEN === '1';

/** Every manifest-like file: .yaml/.yml/.json and Istio's `.injected` outputs; not the Go template. */
function realFiles(dir = REAL): string[] {
  return readdirSync(`${ROOT}${dir}`)
    .sort()
    .flatMap((name) => {
      const rel = `${dir}/${name}`;
      if (statSync(`${ROOT}${rel}`).isDirectory()) return realFiles(rel);
      if (name === 'injection-template.yaml') return []; // a Go template, not YAML
      return /\.(ya?ml|json|injected)$/.test(name) ? [rel] : [];
    });
}

const VARIANTS: Record<string, string[]> = {
  default: [],
  'k8s-1.33-istio-1.27': ['--kube-version', '1.33', '--istio-version', '1.27'],
};

describe('golden findings on real manifests', () => {
  const files = realFiles();
  it('covers the real fixtures', () => {
    expect(files.length).toBeGreaterThan(40);
  });
  for (const [variant, args] of Object.entries(VARIANTS)) {
    it(`${variant}: JSON findings per file match golden`, async () => {
      const got: Record<string, unknown> = {};
      for (const f of files) {
        const r = await lintCli(['-f', 'json', ...args, f], { cwd: ROOT });
        expect(r.code, `${f}: ${r.stderr}`).not.toBe(2);
        got[f] = (JSON.parse(r.stdout) as { findings: unknown[] }).findings;
      }
      const path = `${FIX}golden/real-${variant}.json`;
      const text = `${JSON.stringify(got, null, 1)}\n`;
      if (UPDATE) writeFileSync(path, text);
      expect(text).toBe(readFileSync(path, 'utf8'));
    });
  }
  it('default: the text report matches golden', async () => {
    let out = '';
    for (const f of files) out += (await lintCli([f], { cwd: ROOT })).stdout;
    const path = `${FIX}golden/real-default.txt`;
    if (UPDATE) writeFileSync(path, out);
    expect(out).toBe(readFileSync(path, 'utf8'));
  });
});
