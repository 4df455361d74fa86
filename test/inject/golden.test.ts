/**
 * Golden tests on real manifests (fixtures/inject/real, copied from ../shared/fixtures/real; see SOURCES.md).
 * Regenerate after an intended change with UPDATE_GOLDEN=1 and review the diff.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { injectText } from '../../src/inject/inject.js';
import { getPath, podTemplateSites, type PodTemplate } from '../../src/model/workload.js';
import { ROOT, isLineSubsequence } from '../helpers/cli.js';
import { validateWorkload } from '../helpers/k8s-schema.js';

const dir = `${ROOT}fixtures/inject/real`;
const goldenDir = `${ROOT}fixtures/inject/golden`;
/**
 * The generated hold script has its own tests (test/hooks); goldens pin where and how inject edits,
 * so the script body (a block literal starting with #!/bin/sh) is masked.
 */
function maskHoldScripts(text: string): string {
  return maskAnnotationScripts(text.replace(/(- \|[-+]?\n)( +)#!\/bin\/sh\n(?:\2.*\n|\n)*/g, '$1$2#!/bin/sh <meshdrain hold script>\n'));
}

/**
 * The same script as a JSON string inside the double-quoted proxy.istio.io/overrides annotation: walk
 * the YAML escapes (two characters each) and the JSON escapes inside them, up to the quote that ends
 * the JSON string.
 */
function maskAnnotationScripts(text: string): string {
  const MARK = String.raw`#!/bin/sh\\n# meshdrain hold`;
  let out = '';
  let from = 0;
  for (let at = text.indexOf(MARK); at >= 0; at = text.indexOf(MARK, from)) {
    out += text.slice(from, at + MARK.length) + ' <script>';
    let i = at + MARK.length;
    let jsonEscape = false;
    for (;;) {
      const yamlChar = text[i] === '\\' ? text[i + 1] : text[i];
      const width = text[i] === '\\' ? 2 : 1;
      if (yamlChar === undefined) break;
      if (yamlChar === '"' && !jsonEscape) break; // the end of the JSON string (left in place)
      jsonEscape = yamlChar === '\\' && !jsonEscape;
      i += width;
    }
    from = i;
  }
  return out + text.slice(from);
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

describe('golden: real manifests', () => {
  it('has the real fixtures', () => expect(files.length).toBeGreaterThan(30));

  for (const f of files) {
    it(f, () => {
      const src = readFileSync(`${dir}/${f}`, 'utf8');
      const r = injectText(src, f);
      const golden = `${goldenDir}/${f}`;
      const masked = maskHoldScripts(r.output);
      if (process.env.UPDATE_GOLDEN || !existsSync(golden)) writeFileSync(golden, masked);
      expect(masked).toBe(readFileSync(golden, 'utf8'));

      // Idempotent.
      expect(injectText(r.output, f).output).toBe(r.output);

      const out = parseAllDocuments(r.output).map((d) => d.toJS({ maxAliasCount: 1000 }) as unknown);
      const before = parseAllDocuments(src).map((d) => d.toJS({ maxAliasCount: 1000 }) as unknown);
      out.forEach((value, i) => {
        for (const site of podTemplateSites(value)) {
          const pod = getPath(value, site.templatePath) as PodTemplate;
          const off = [pod.metadata?.labels?.['sidecar.istio.io/inject'], pod.metadata?.annotations?.['sidecar.istio.io/inject']].includes('false');
          const native =
            pod.metadata?.annotations?.['sidecar.istio.io/nativeSidecar'] === 'true' ||
            (pod.spec?.initContainers ?? []).some((c) => c.name === 'istio-proxy' && c.restartPolicy === 'Always');
          // A gateway's proxy is the workload (the gateway template, istiod-managed, or istio-proxy alone): left as written.
          const gateway =
            (pod.spec?.containers ?? []).every((c) => c.name === 'istio-proxy') ||
            (pod.metadata?.annotations?.['inject.istio.io/templates'] ?? '').split(',').includes('gateway') ||
            pod.metadata?.labels?.['gateway.istio.io/managed'] !== undefined;
          // Istio's own rules (hostNetwork, IgnoredNamespaces): a pod it never injects gets no istio-proxy.
          const neverInjected = pod.spec?.hostNetwork === true || ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'].includes(site.namespace ?? '');
          if (neverInjected) {
            const hadProxy = /name: istio-proxy/.test(src);
            if (!hadProxy) expect([...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name), `${f}: ${site.kind}/${site.name}`).not.toContain('istio-proxy');
          } else if (!off && !native && !gateway) {
            // Every touched pod template gets an istio-proxy preStop: on its own istio-proxy entry, or in
            // the proxy.istio.io/overrides annotation for a classic sidecar (`containers`).
            const own = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === 'istio-proxy');
            const overrides = pod.metadata?.annotations?.['proxy.istio.io/overrides'];
            const carried = overrides ? (JSON.parse(overrides) as { containers?: typeof own[] }).containers?.find((c) => c?.name === 'istio-proxy') : undefined;
            const proxy = own ?? carried;
            expect(proxy?.lifecycle?.preStop?.exec?.command?.length, `${f}: ${site.kind}/${site.name}`).toBeGreaterThan(0);
          }
        }
        // Output is valid Kubernetes (a few upstream fixtures are invalid on purpose: no new errors).
        expect(validateWorkload(value), `${f}`).toEqual(validateWorkload(before[i]));
      });
      // Everything was added, except values inject deliberately replaces (an existing istio-proxy preStop).
      // (and Istio's own immediate native drain on an injected native proxy, which meshdrain replaces: ADR 062).
      const replacesPreStop = /name: istio-proxy[\s\S]*preStop/.test(src) || /- POST\s+- drain/.test(src);
      // A raised grace period replaces its line; every other original line must survive, in order.
      const kept = src.replace(/^\s*terminationGracePeriodSeconds:.*\n/gm, '').replace(/^.*: \{\}\n/gm, '');
      if (!replacesPreStop) expect(isLineSubsequence(kept, r.output), f).toBe(true);
    });
  }
});
