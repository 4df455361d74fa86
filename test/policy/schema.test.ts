import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPolicy } from '../../src/policy/load.js';
import { policyJsonSchema } from '../../src/policy/schema.js';
import { ROOT } from '../helpers/cli.js';
import { expectInputError } from '../helpers/errors.js';

const published = JSON.parse(readFileSync(`${ROOT}schema/shutdown-policy.schema.json`, 'utf8'));

describe('policy schema', () => {
  it('the published JSON Schema is the one the code validates with (run scripts/gen-schema.mjs after a change)', () => {
    expect(published).toEqual(JSON.parse(JSON.stringify(policyJsonSchema())));
  });

  it('editors and the loader agree on the examples', () => {
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(published);
    const example = readFileSync(`${ROOT}examples/shutdown-policy.yaml`, 'utf8');
    expect(validate(parse(example)), JSON.stringify(validate.errors)).toBe(true);
    expect(loadPolicy(example, 'examples/shutdown-policy.yaml').rules).toHaveLength(3);
    const bad = { apiVersion: 'meshdrain.dev/v1alpha1', kind: 'ShutdownPolicy', defaults: { proxy: { timeout: 'soon' } } };
    expect(validate(bad)).toBe(false);
  });

  it('loads the legacy format as written and maps istio-proxy to the proxy preStop', () => {
    const p = loadPolicy(readFileSync(`${ROOT}examples/legacy-policy.yaml`, 'utf8'), 'legacy.yaml');
    expect(p.format).toBe('legacy');
    expect(p.rules[0]).toEqual({ match: { kinds: ['deployment'], names: ['httpbin'] }, containers: { httpbin: { preStop: ['/bin/sh', '-c', 'sleep 5'] } } });
  });

  it('a value outside an enum names what the field takes, at its position', () => {
    const head = 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n';
    expectInputError(() => loadPolicy(`${head}  app:\n    shell: maybe\n`, 'p.yaml'), /^p\.yaml:5:12: invalid ShutdownPolicy: defaults\.app\.shell: expected one of true, false, "image", "init-container"$/);
    expectInputError(() => loadPolicy(`${head}  proxy:\n    shell: sometimes\n`, 'p.yaml'), /^p\.yaml:5:12: invalid ShutdownPolicy: defaults\.proxy\.shell: expected one of "image", "init-container"$/);
  });

  it('rejects hostile wait strategies with a position', () => {
    const text = 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\nrules:\n- match: {}\n  proxy:\n    waitFor:\n    - "http=http://x/$(reboot)"\n';
    expectInputError(() => loadPolicy(text, 'p.yaml'), /^p\.yaml:7:7: waitFor: http: expected a URL/);
  });
});

describe('documented policies', () => {
  it('the policy examples in docs/inject.md load as written', () => {
    const md = readFileSync(`${ROOT}docs/inject.md`, 'utf8');
    const blocks = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(2);
    expect(loadPolicy(blocks[0]!, 'docs/inject.md#legacy').format).toBe('legacy');
    const v1 = loadPolicy(blocks[1]!, 'docs/inject.md#v1alpha1');
    expect(v1.format).toBe('v1alpha1');
    expect(v1.rules[0]!.match.names).toEqual(['checkout-*']);
  });
});
