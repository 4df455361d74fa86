import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as yamlStringify } from 'yaml';
import { InputError } from '../../src/errors.js';
import { mergeProxyConfigAnnotation, parseProxyConfigAnnotation, protoDuration } from '../../src/istio/proxy-config.js';
import type { ProxyConfigPlan } from '../../src/plan/types.js';

const full: ProxyConfigPlan = {
  terminationDrainDuration: '20s',
  holdApplicationUntilProxyStarts: true,
  exitOnZeroActiveConnections: true,
  minimumDrainDuration: '8s',
};

// The real value from istio/istio pkg/kube/inject/testdata/inject/traffic-annotations.yaml
const trafficYaml = 'discoveryAddress: foo:123\nconcurrency: 0\nproxyMetadata:\n  FOO: bar\n  ISTIO_META_TLS_CLIENT_KEY: /etc/identity2/client/keys/client-key.pem';
// ... and from hello-probes-proxyHoldApplication-ProxyConfig.yaml
const holdJson = '{ "holdApplicationUntilProxyStarts": true }';

describe('mergeProxyConfigAnnotation', () => {
  it('writes new YAML when there is no annotation', () => {
    const out = mergeProxyConfigAnnotation(undefined, full);
    expect(parseYaml(out)).toEqual({
      terminationDrainDuration: '20s',
      holdApplicationUntilProxyStarts: true,
      proxyMetadata: { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true', MINIMUM_DRAIN_DURATION: '8s' },
    });
  });

  it('merges into real YAML keeping every key, order and block shape', () => {
    const out = mergeProxyConfigAnnotation(trafficYaml, full);
    expect(out.startsWith('discoveryAddress: foo:123\nconcurrency: 0\nproxyMetadata:\n  FOO: bar\n')).toBe(true);
    expect(out.endsWith('\n')).toBe(false);
    const v = parseYaml(out);
    expect(v.discoveryAddress).toBe('foo:123');
    expect(v.concurrency).toBe(0);
    expect(v.proxyMetadata).toEqual({
      FOO: 'bar',
      ISTIO_META_TLS_CLIENT_KEY: '/etc/identity2/client/keys/client-key.pem',
      EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true',
      MINIMUM_DRAIN_DURATION: '8s',
    });
    expect(v.terminationDrainDuration).toBe('20s');
  });

  it('keeps YAML comments', () => {
    const src = '# set by the platform team\nconcurrency: 2 # two workers\n';
    const out = mergeProxyConfigAnnotation(src, { terminationDrainDuration: '30s' });
    expect(out).toContain('# set by the platform team');
    expect(out).toContain('concurrency: 2 # two workers');
    expect(parseYaml(out).terminationDrainDuration).toBe('30s');
  });

  it('merges into real JSON and keeps it one-line JSON', () => {
    const out = mergeProxyConfigAnnotation(holdJson, { terminationDrainDuration: '15s' });
    expect(out.includes('\n')).toBe(false);
    expect(JSON.parse(out)).toEqual({ holdApplicationUntilProxyStarts: true, terminationDrainDuration: '15s' });
    expect(out.startsWith('{ "holdApplicationUntilProxyStarts": true,')).toBe(true);
  });

  it('keeps indented JSON indented', () => {
    const src = '{\n    "concurrency": 2\n}';
    const out = mergeProxyConfigAnnotation(src, { holdApplicationUntilProxyStarts: false });
    expect(out).toBe('{\n    "concurrency": 2,\n    "holdApplicationUntilProxyStarts": false\n}');
  });

  it('returns the input unchanged when the settings are already there (also semantically equal ones)', () => {
    const once = mergeProxyConfigAnnotation(trafficYaml, full);
    expect(mergeProxyConfigAnnotation(once, full)).toBe(once);
    const j = mergeProxyConfigAnnotation(holdJson, full);
    expect(mergeProxyConfigAnnotation(j, full)).toBe(j);
    // 20000ms == 20s: no rewrite
    const y = 'terminationDrainDuration: 20000ms\n';
    expect(mergeProxyConfigAnnotation(y, { terminationDrainDuration: '20s' })).toBe(y);
  });

  it('writes protobuf durations (seconds) that Istio accepts', () => {
    expect(protoDuration('1m30s', 'x')).toBe('90s');
    expect(protoDuration('1500ms', 'x')).toBe('1.5s');
    expect(parseYaml(mergeProxyConfigAnnotation('', { terminationDrainDuration: '2m' })).terminationDrainDuration).toBe('120s');
  });

  it('rejects invalid YAML and JSON with an InputError naming the place (exit 2)', () => {
    const where = { file: 'pod.yaml', line: 12, col: 9 };
    for (const bad of ['{ "a": ', 'a: [1, 2', 'key: value\n  bad indent: x\n', '- a\n- b', '"just a string"']) {
      let err: unknown;
      try {
        mergeProxyConfigAnnotation(bad, full, where);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(InputError);
      expect((err as InputError).exitCode).toBe(2);
      expect((err as InputError).format()).toMatch(/^pod\.yaml:12:9: annotation proxy\.istio\.io\/config: /);
    }
  });

  it('refuses a proxyMetadata that is not a mapping instead of dropping it', () => {
    expect(() => mergeProxyConfigAnnotation('proxyMetadata: [a]\n', full)).toThrow(InputError);
    expect(() => mergeProxyConfigAnnotation('{"proxyMetadata": 3}', full)).toThrow(InputError);
  });

  it('property: never drops a key, is idempotent, and the result parses to the plan', () => {
    const key = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,11}$/).filter((k) => !['terminationDrainDuration', 'holdApplicationUntilProxyStarts', 'proxyMetadata'].includes(k));
    const scalar = fc.oneof(fc.integer(), fc.boolean(), fc.stringMatching(/^[a-z0-9:/._-]{0,12}$/));
    const existing = fc.record({
      top: fc.dictionary(key, scalar, { maxKeys: 5 }),
      meta: fc.option(fc.dictionary(key, fc.stringMatching(/^[a-z0-9]{0,8}$/), { maxKeys: 4 }), { nil: undefined }),
      json: fc.boolean(),
      indent: fc.boolean(),
    });
    const plan = fc.record(
      {
        terminationDrainDuration: fc.integer({ min: 0, max: 600 }).map((s) => `${s}s`),
        holdApplicationUntilProxyStarts: fc.boolean(),
        exitOnZeroActiveConnections: fc.boolean(),
        minimumDrainDuration: fc.integer({ min: 0, max: 120 }).map((s) => `${s}s`),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(existing, plan, (ex, p) => {
        const obj: Record<string, unknown> = { ...ex.top };
        if (ex.meta) obj.proxyMetadata = ex.meta;
        const src = ex.json ? JSON.stringify(obj, null, ex.indent ? 2 : undefined) : Object.keys(obj).length ? yamlStringify(obj) : '';
        const out = mergeProxyConfigAnnotation(src, p);
        expect(mergeProxyConfigAnnotation(out, p)).toBe(out);
        const v = (ex.json && src ? JSON.parse(out) : (parseYaml(out) ?? {})) as Record<string, unknown>;
        for (const [k, val] of Object.entries(ex.top)) expect(v[k]).toEqual(val);
        for (const [k, val] of Object.entries(ex.meta ?? {})) expect((v.proxyMetadata as Record<string, unknown>)[k]).toEqual(val);
        const s = parseProxyConfigAnnotation(out);
        if (p.terminationDrainDuration) expect(s.terminationDrainMs).toBe(parseInt(p.terminationDrainDuration) * 1000);
        if (p.holdApplicationUntilProxyStarts !== undefined) expect(s.holdApplicationUntilProxyStarts).toBe(p.holdApplicationUntilProxyStarts);
        if (p.exitOnZeroActiveConnections !== undefined) expect(s.exitOnZeroActiveConnections).toBe(p.exitOnZeroActiveConnections);
        if (p.minimumDrainDuration) expect(s.minimumDrainMs).toBe(parseInt(p.minimumDrainDuration) * 1000);
      }),
      { numRuns: 300 },
    );
  });
});


describe('parseProxyConfigAnnotation', () => {
  it('fills in Istio defaults', () => {
    const s = parseProxyConfigAnnotation(undefined);
    expect(s.effectiveDrainMs).toBe(5000);
    expect(s.drainUnbounded).toBe(false);
  });
  it('reads terminationDrainDuration', () => {
    expect(parseProxyConfigAnnotation('terminationDrainDuration: 30s').effectiveDrainMs).toBe(30_000);
  });
  it('EXIT_ON_ZERO_ACTIVE_CONNECTIONS switches to MINIMUM_DRAIN_DURATION and unbounded drain', () => {
    const s = parseProxyConfigAnnotation('{"terminationDrainDuration":"30s","proxyMetadata":{"EXIT_ON_ZERO_ACTIVE_CONNECTIONS":"True","MINIMUM_DRAIN_DURATION":"12s"}}');
    expect(s.style).toBe('json');
    expect(s.exitOnZeroActiveConnections).toBe(true);
    expect(s.effectiveDrainMs).toBe(12_000);
    expect(s.drainUnbounded).toBe(true);
  });
  it('reads the real fixtures', () => {
    expect(parseProxyConfigAnnotation(holdJson).holdApplicationUntilProxyStarts).toBe(true);
    expect(parseProxyConfigAnnotation(trafficYaml).raw.discoveryAddress).toBe('foo:123');
  });
  it('rejects a bad duration with exit 2', () => {
    expect(() => parseProxyConfigAnnotation('terminationDrainDuration: soon')).toThrow(InputError);
  });
});

describe('mergeProxyConfigAnnotation on JSON keeps the bytes it does not write', () => {
  it('numbers, spacing and key order stay as typed (2.50 stays 2.50)', () => {
    const src = '{"concurrency":2.50, "tracing": {"sampling": 1e2},"holdApplicationUntilProxyStarts":true}';
    const out = mergeProxyConfigAnnotation(src, { terminationDrainDuration: '15s' });
    expect(out.startsWith('{"concurrency":2.50, "tracing": {"sampling": 1e2},"holdApplicationUntilProxyStarts":true')).toBe(true);
    expect(JSON.parse(out)).toEqual({ concurrency: 2.5, tracing: { sampling: 100 }, holdApplicationUntilProxyStarts: true, terminationDrainDuration: '15s' });
  });
  it('a setting already there is replaced in place; a null proxyMetadata becomes a mapping', () => {
    const src = '{\n  "terminationDrainDuration": "5s",\n  "proxyMetadata": null,\n  "concurrency": 2.50\n}';
    const out = mergeProxyConfigAnnotation(src, { terminationDrainDuration: '30s', exitOnZeroActiveConnections: true });
    expect(out).toContain('"terminationDrainDuration": "30s",\n');
    expect(out).toContain('"concurrency": 2.50');
    expect(JSON.parse(out).proxyMetadata).toEqual({ EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true' });
  });
});
