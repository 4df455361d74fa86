import { describe, expect, it } from 'vitest';
import { valueKey } from '../../src/model/value-key.js';

const script = (n: number) => `#!/bin/sh\n${'echo hold\n'.repeat(60)}# ${n}\n`;

describe('valueKey: memo keys for rendered values', () => {
  it('equal values, equal keys; also for long strings that are different objects', () => {
    const a = { lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', script(1)] } } } };
    const b = JSON.parse(JSON.stringify(a));
    expect(valueKey(a)).toBe(valueKey(b));
    expect(valueKey(a).length).toBeLessThan(JSON.stringify(a).length);
  });

  it('different values, different keys', () => {
    expect(valueKey([script(1)])).not.toBe(valueKey([script(2)]));
    expect(valueKey({ a: 1 })).not.toBe(valueKey({ a: '1' }));
    expect(valueKey(['x'])).not.toBe(valueKey([['x']]));
  });

  it('a short string that looks like an interned long string stays apart from it', () => {
    const long = script(3);
    const key = valueKey([long]);
    const id = /\\u0000L(\d+)/.exec(key)?.[1] ?? /\u0000L(\d+)/.exec(key)?.[1];
    expect(id).toBeDefined();
    expect(valueKey([`\u0000L${id}`])).not.toBe(key);
  });

  it('after the table is reset, no new key equals an old one', () => {
    const first = valueKey([script(-1)]);
    for (let i = 0; i < 10_001; i++) valueKey([script(i + 10)]);
    const later = new Set(Array.from({ length: 50 }, (_, i) => valueKey([script(100_000 + i)])));
    expect(later.has(first)).toBe(false);
    expect(valueKey([script(-1)])).not.toBe(first);
  });
});
