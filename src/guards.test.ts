import { describe, expect, it } from 'vitest';
import { errnoCode, isOneOf, isRecord } from './guards.js';

describe('guards', () => {
  it.each([
    [{}, true],
    [{ a: 1 }, true],
    [[], false],
    [null, false],
    ['x', false],
    [1, false],
  ])('isRecord(%j) is %s', (value, expected) => {
    expect(isRecord(value)).toBe(expected);
  });

  it('tells one of a list of literals from any other value', () => {
    const modes = ['Once', 'Period'] as const;
    expect(isOneOf(modes, 'Once')).toBe(true);
    expect(isOneOf(modes, 'once')).toBe(false);
    expect(isOneOf(modes, undefined)).toBe(false);
    expect(isOneOf([], 'Once')).toBe(false);
  });

  it("reads a system error's code and nothing else", () => {
    expect(errnoCode(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toBe('ENOENT');
    expect(errnoCode(new Error('plain'))).toBeUndefined();
    expect(errnoCode(Object.assign(new Error('odd'), { code: 7 }))).toBeUndefined();
    expect(errnoCode({ code: 'ENOENT' })).toBeUndefined();
    expect(errnoCode('ENOENT')).toBeUndefined();
  });
});
