import { expect } from 'vitest';
import { InputError } from '../../src/errors.js';

/** `fn` throws an InputError whose one-line form (`file:line:col: message`) matches `pattern`. */
export function expectInputError(fn: () => unknown, pattern: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(InputError);
  expect((thrown as InputError).format()).toMatch(pattern);
}
