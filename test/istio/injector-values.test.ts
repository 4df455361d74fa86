/** global.proxy.lifecycle edits in the injector's values JSON keep every other byte (jsonc-parser modify/applyEdits). */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { holdFromOptions } from '../../src/istio/holds.js';
import { patchInjectorConfigMap } from '../../src/istio/injector.js';
import { setGlobalLifecycle } from '../../src/istio/injector-values.js';

const where = { file: 'cm.yaml', line: 7, col: 3 };
const lc = { preStop: { exec: { command: ['/bin/sh', '-c', 'x'] } } };

describe('setGlobalLifecycle', () => {
  it('inserts into a pretty object: numbers as typed (2.50, 1e2, 1e400, 2^64), order and indentation kept', () => {
    const src = '{\n  "global": {\n    "ratio": 2.50,\n    "proxy": {\n      "big": 18446744073709551616,\n      "huge": 1e400\n    },\n    "n": 1e2\n  }\n}\n';
    const { text, previous } = setGlobalLifecycle(src, lc, where);
    expect(previous).toBeUndefined();
    expect(text).toBe(
      '{\n  "global": {\n    "ratio": 2.50,\n    "proxy": {\n      "big": 18446744073709551616,\n      "huge": 1e400,\n' +
        '      "lifecycle": {\n        "preStop": {\n          "exec": {\n            "command": [\n              "/bin/sh",\n              "-c",\n              "x"\n            ]\n          }\n        }\n      }\n' +
        '    },\n    "n": 1e2\n  }\n}\n',
    );
  });

  it('replaces an existing lifecycle and nothing else; reports what was there', () => {
    const src = '{\n    "global": {\n        "proxy": {\n            "lifecycle": {"postStart": 1.50},\n            "x": 1E2\n        }\n    }\n}';
    const { text, previous } = setGlobalLifecycle(src, lc, where);
    expect(previous).toEqual({ postStart: 1.5 });
    const [before, after] = [src.split('"lifecycle"')[0]!, src.split('},\n            "x"')[1]!];
    expect(text.startsWith(before)).toBe(true);
    expect(text.endsWith(`},\n            "x"${after}`)).toBe(true);
    expect(text).toContain('"lifecycle": {\n                "preStop"'); // four-space indentation, as the file has
    expect(JSON.parse(text).global.proxy).toEqual({ lifecycle: lc, x: 100 });
  });

  it('one-line JSON stays one line; missing parents are created', () => {
    const { text } = setGlobalLifecycle('{"global":{"hub":"x","w":0.10}}', lc, where);
    expect(text).not.toContain('\n');
    expect(text.startsWith('{"global":{"hub":"x","w":0.10,')).toBe(true);
    expect(JSON.parse(text)).toEqual({ global: { hub: 'x', w: 0.1, proxy: { lifecycle: lc } } });
    expect(JSON.parse(setGlobalLifecycle('{}', lc, where).text)).toEqual({ global: { proxy: { lifecycle: lc } } });
  });

  it('tab-indented JSON gets tabs', () => {
    const { text } = setGlobalLifecycle('{\n\t"global": {\n\t\t"proxy": {}\n\t}\n}', lc, where);
    expect(text).toContain('\n\t\t\t"lifecycle": {\n\t\t\t\t"preStop"');
  });

  it('unchanged when the lifecycle is already this one (same text back)', () => {
    const src = `{"global":{"proxy":{"lifecycle":${JSON.stringify(lc)}}},"r":2.50}`;
    expect(setGlobalLifecycle(src, lc, where)).toEqual({ text: src, previous: lc });
  });

  it.each([
    ['{"global": [}', /not valid JSON/],
    ['[1]', /expected a JSON object/],
    ['{"global": 3}', /global must be an object/],
    ['{"global": {"proxy": "x"}}', /global\.proxy must be an object/],
  ])('%s → InputError at the values node', (src, msg) => {
    try {
      setGlobalLifecycle(src, lc, where);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).format()).toMatch(new RegExp(`^cm\\.yaml:7:3: data\\.values: ${msg.source}`));
    }
  });
});

it('injector-patch --mode global keeps the values numbers as typed in the ConfigMap', () => {
  const cm = `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio-sidecar-injector
data:
  values: |-
    {
      "global": {
        "proxy": {
          "concurrency": 2.50,
          "holdTimeout": 1e2
        }
      }
    }
  config: |-
    template: |
      containers:
      - name: istio-proxy
      {{- if .Values.global.proxy.lifecycle }}
        lifecycle:
          {{ toYaml .Values.global.proxy.lifecycle | indent 6 }}
      {{- end }}
`;
  const out = patchInjectorConfigMap(cm, 'cm.yaml', { mode: 'global', hold: holdFromOptions({}) });
  expect(out.changed).toBe(true);
  expect(out.text).toContain('          "concurrency": 2.50,\n          "holdTimeout": 1e2,\n          "lifecycle": {');
  expect(out.text.slice(out.text.indexOf('  config: |-'))).toBe(cm.slice(cm.indexOf('  config: |-')));
});
