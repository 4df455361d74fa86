/** model/duration: the one parser and printer of durations every flag, policy value and annotation goes through. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { formatDuration, parseDuration } from '../../src/model/duration.js';

describe('parseDuration', () => {
  it.each([
    ['200ms', 200],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['2h', 7_200_000],
    ['1h0m1s', 3_601_000],
    ['0s', 0],
    ['5', 5_000],
    ['0.25', 250],
    [' 10s ', 10_000],
    ['1.0005s', 1_001], // rounded to whole milliseconds
  ])('%j → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('a number is seconds (YAML/JSON values)', () => {
    expect(parseDuration(2.5)).toBe(2_500);
    expect(parseDuration(0)).toBe(0);
  });

  it.each(['', '10x', 's', '1s2', '-1s', '1d', '1 s', '1e3s', '.5s', '10S'])('%j: InputError naming what and the text as typed', (text) => {
    expect(() => parseDuration(text, '--grace')).toThrow(InputError);
    expect(() => parseDuration(text, '--grace')).toThrow(`--grace: expected a duration like 200ms, 10s or 1m30s, got ${JSON.stringify(text)}`);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('%s seconds: InputError', (n) => {
    expect(() => parseDuration(n, 'timeout')).toThrow(/^timeout: expected a non-negative number of seconds/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [200, '200ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [1_234, '1.234s'],
    [23_000, '23s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [86_400_000, '24h'],
  ])('%i ms → %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration for every whole millisecond up to a day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
      { numRuns: 2000 },
    );
  });
});
