import { describe, expect, it } from 'vitest';
import { istioProxyOverlay, parseOverrides, withProxyOverrides } from '../../src/istio/overrides.js';
import { expectInputError } from '../helpers/errors.js';

const hold = { name: 'istio-proxy', lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'hold'] } } } };
const drain = { name: 'istio-proxy', lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'drain'] } } } };

describe('proxy.istio.io/overrides (webhook.go reapplyOverwrittenContainers)', () => {
  it('carries a classic entry under containers and a native one under initContainers', () => {
    const text = withProxyOverrides(undefined, { classic: hold, native: drain });
    expect(JSON.parse(text)).toEqual({ containers: [hold], initContainers: [drain] });
  });

  it("keeps the user's other entries and fields; a second run writes the same bytes", () => {
    const user = JSON.stringify({ containers: [{ name: 'istio-proxy', resources: { limits: { cpu: '1' } } }, { name: 'app', image: 'x' }] });
    const once = withProxyOverrides(user, { classic: hold });
    expect(JSON.parse(once).containers).toEqual([{ name: 'istio-proxy', resources: { limits: { cpu: '1' } }, lifecycle: hold.lifecycle }, { name: 'app', image: 'x' }]);
    expect(withProxyOverrides(once, { classic: hold })).toBe(once);
  });

  it('Istio reads the annotation first, for the kind it injects, and clears image: auto from a pod stub', () => {
    const pod = {
      metadata: { annotations: { 'proxy.istio.io/overrides': withProxyOverrides(undefined, { classic: hold, native: drain }) } },
      spec: { containers: [{ name: 'app' }, { name: 'istio-proxy', image: 'auto', lifecycle: { preStop: { exec: { command: ['stub'] } } } }] },
    };
    expect(istioProxyOverlay(pod, 'classic')).toEqual(hold);
    expect(istioProxyOverlay(pod, 'native')).toEqual(drain);
    const stubOnly = { spec: pod.spec };
    expect(istioProxyOverlay(stubOnly, 'native')).toEqual({ name: 'istio-proxy', lifecycle: { preStop: { exec: { command: ['stub'] } } } });
    expect(istioProxyOverlay({ spec: { containers: [{ name: 'app' }] } }, 'classic')).toBeUndefined();
  });

  it('bad annotation JSON is the user\'s error, with the position', () => {
    expectInputError(() => parseOverrides('{"containers": [', { file: 'd.yaml', line: 7, col: 9 }), /^d\.yaml:7:9: proxy\.istio\.io\/overrides: not JSON/);
    expect(() => parseOverrides('{"containers": [{"image": "x"}]}')).toThrow(/list of containers with names/);
  });
});
