import { describe, expect, it } from 'vitest';
import { accessKeyRecord } from '../../test/helpers/store-records.js';
import type { AccessKey } from '../store/store.js';
import { AccessKeyCache } from './access-key-cache.js';

const key = accessKeyRecord;

/** A cache over a map, with its own clock and a count of the store's reads. */
function setup(ttlMs = 1_000) {
  const stored = new Map<string, AccessKey>();
  let now = 0;
  let reads = 0;
  // A read that is held until `release` (a slow database).
  let held: Promise<void> | undefined;
  const cache = new AccessKeyCache(
    {
      get: async (id) => {
        reads++;
        const value = stored.get(id);
        await held;
        return value;
      },
    },
    ttlMs,
    () => now,
  );
  return {
    stored,
    cache,
    reads: () => reads,
    advance: (ms: number) => (now += ms),
    hold: () => {
      let release = () => {};
      held = new Promise<void>((resolve) => (release = resolve));
      return () => {
        held = undefined;
        release();
      };
    },
  };
}

describe('AccessKeyCache', () => {
  it('reads a key once for its time to live, then again', async () => {
    const { stored, cache, reads, advance } = setup();
    stored.set('a', key('a'));
    expect(await cache.get('a')).toEqual(key('a'));
    advance(999);
    stored.set('a', key('a', { status: 'Inactive' }));
    expect((await cache.get('a'))?.status).toBe('Active');
    expect(reads()).toBe(1);
    advance(1);
    expect((await cache.get('a'))?.status).toBe('Inactive');
    expect(reads()).toBe(2);
  });

  it('reads a key forgotten (changed on this node) at the next request', async () => {
    const { stored, cache, reads } = setup();
    stored.set('a', key('a'));
    await cache.get('a');
    stored.delete('a');
    cache.forget('a');
    expect(await cache.get('a')).toBeUndefined();
    expect(reads()).toBe(2);
  });

  it('does not put back a key whose read began before it was forgotten', async () => {
    const { stored, cache, reads, hold } = setup();
    stored.set('a', key('a'));
    const release = hold();
    const racing = cache.get('a');
    // The change commits and is forgotten while the read is on its way back with the old row.
    stored.set('a', key('a', { status: 'Inactive' }));
    cache.forget('a');
    release();
    expect((await racing)?.status).toBe('Active');
    expect((await cache.get('a'))?.status).toBe('Inactive');
    expect(reads()).toBe(2);
  });

  it('holds no unknown ids: each is read again, and a key made later is found at once', async () => {
    const { stored, cache, reads } = setup();
    expect(await cache.get('new')).toBeUndefined();
    stored.set('new', key('new'));
    expect(await cache.get('new')).toEqual(key('new'));
    expect(reads()).toBe(2);
  });

  it('ages a key from before its read, and refreshes it on a recheck', async () => {
    const { stored, cache, reads, advance } = setup();
    stored.set('a', key('a'));
    await cache.get('a');
    advance(600);
    stored.set('a', key('a', { status: 'Inactive' }));
    expect((await cache.read('a'))?.status).toBe('Inactive');
    expect((await cache.get('a'))?.status).toBe('Inactive');
    expect(reads()).toBe(2);
    stored.delete('a');
    expect(await cache.read('a')).toBeUndefined();
    expect(await cache.get('a')).toBeUndefined();
    expect(reads()).toBe(4);
  });

  it('stays bounded: past ten thousand keys it starts over', async () => {
    const { stored, cache, reads } = setup();
    for (let i = 0; i <= 10_000; i++) {
      stored.set(`k${i}`, key(`k${i}`));
      await cache.get(`k${i}`);
    }
    expect(reads()).toBe(10_001);
    // k0 went with the rest when the cache started over; the newest stayed.
    await cache.get('k10000');
    expect(reads()).toBe(10_001);
    await cache.get('k0');
    expect(reads()).toBe(10_002);
  });
});
