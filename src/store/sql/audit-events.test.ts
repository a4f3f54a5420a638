import { describe, expect, it } from 'vitest';
import { byBodyBytes, maxStatementBodyBytes } from './audit-events.js';

const row = (name: string, bytes: number) => ({ name, body: 'x'.repeat(bytes) });
const names = (parts: { name: string }[][]) => parts.map((part) => part.map((r) => r.name));

describe('byBodyBytes', () => {
  it('keeps a batch within the limit whole', () => {
    expect(names(byBodyBytes([row('a', 10), row('b', 10)]))).toEqual([['a', 'b']]);
    expect(byBodyBytes([])).toEqual([]);
  });

  it('starts a new statement where the next record would pass the limit, in order', () => {
    const half = maxStatementBodyBytes / 2;
    const parts = byBodyBytes([row('a', half), row('b', half), row('c', 1), row('d', half)]);
    expect(names(parts)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('sends a record over the limit alone, and counts bytes, not characters', () => {
    const big = row('big', maxStatementBodyBytes + 1);
    expect(names(byBodyBytes([row('a', 1), big, row('b', 1)]))).toEqual([['a'], ['big'], ['b']]);
    // Two-byte characters: half the limit in characters is the whole limit in bytes.
    const wide = { name: 'wide', body: 'é'.repeat(maxStatementBodyBytes / 2) };
    expect(names(byBodyBytes([wide, row('a', 1)]))).toEqual([['wide'], ['a']]);
  });
});
