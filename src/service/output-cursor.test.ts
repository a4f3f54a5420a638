import { describe, expect, it } from 'vitest';
import { ApiError } from '../domain/errors.js';
import { InvocationChanges } from './invocation-changes.js';
import { decodeCursor, encodeCursor, runKeyText } from './output-cursor.js';

describe('the output cursor', () => {
  it('round-trips every run offset, leaving runs at 0 out', () => {
    const offsets = new Map([
      [runKeyText('mi-b', 0), 7],
      [runKeyText('mi-a', 12), 1 << 30],
      [runKeyText('mi-a', 2), 0],
    ]);
    const cursor = encodeCursor('t-1', offsets);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 't-1')).toEqual(
      new Map([
        ['mi-a/12', 1 << 30],
        ['mi-b/0', 7],
      ]),
    );
    // The same offsets in another order make the same cursor.
    expect(encodeCursor('t-1', new Map([...offsets].reverse()))).toBe(cursor);
  });

  const refused = (text: string, invokeId = 't-1') => {
    try {
      decodeCursor(text, invokeId);
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      return (error as ApiError).code;
    }
    return 'accepted';
  };
  const raw = (doc: unknown) => Buffer.from(JSON.stringify(doc)).toString('base64url');

  it('refuses anything malformed, or a cursor of another invocation, with InvalidParameter', () => {
    expect(refused(encodeCursor('t-1', new Map([['mi-a/0', 3]])), 't-2')).toBe('InvalidParameter');
    for (const bad of [
      'not a cursor!',
      'AAAA',
      raw({ v: 2, i: 't-1', o: [] }),
      raw({ v: 1, i: 't-1', o: {} }),
      raw({ v: 1, i: 't-1', o: [['mi-a', 0]] }),
      raw({ v: 1, i: 't-1', o: [['mi-a', -1, 3]] }),
      raw({ v: 1, i: 't-1', o: [['mi-a', 0, 1.5]] }),
      raw({ v: 1, i: 't-1', o: [['mi a/b', 0, 1]] }),
      raw({
        v: 1,
        i: 't-1',
        o: [
          ['mi-a', 0, 1],
          ['mi-a', 0, 2],
        ],
      }),
      'x'.repeat(70_000),
    ]) {
      expect(refused(bad), bad.slice(0, 40)).toBe('InvalidParameter');
    }
    expect(refused(raw({ v: 1, i: 't-1', o: [] }))).toBe('accepted');
  });
});

describe('invocation change wake-ups', () => {
  it('calls the listeners of one invocation and leaves nothing behind once they unsubscribe', () => {
    const changes = new InvocationChanges();
    const calls: string[] = [];
    const offA = changes.subscribe('t-a', () => calls.push('a1'));
    const offA2 = changes.subscribe('t-a', () => calls.push('a2'));
    const offB = changes.subscribe('t-b', () => calls.push('b'));
    changes.changed('t-a');
    changes.changed('t-none');
    expect(calls).toEqual(['a1', 'a2']);
    offA();
    offA();
    offA2();
    offB();
    expect(changes.listenerCount()).toBe(0);
  });
});
