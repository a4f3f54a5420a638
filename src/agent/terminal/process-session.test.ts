import { describe, expect, it } from 'vitest';
import { parseStat } from './process-session.js';

describe('parseStat', () => {
  it('reads the session id after the last parenthesis, whatever the command name holds', () => {
    expect(parseStat('4242 (bash) S 4200 4242 4242 34816 4242 4194560 1 0')).toEqual({
      state: 'S',
      sessionId: 4242,
    });
    // A command may name itself with spaces and parentheses: `a) R 1 2 3 (b`.
    expect(parseStat('77 (a) R 1 2 3 (b) Z 5 77 9000 0')).toEqual({ state: 'Z', sessionId: 9000 });
  });

  it('gives nothing for text that is not a stat line', () => {
    expect(parseStat('')).toBeUndefined();
    expect(parseStat('12 (x) S 1')).toBeUndefined();
  });
});
