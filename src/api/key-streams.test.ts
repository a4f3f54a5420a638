import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { accessKeyRecord } from '../../test/helpers/store-records.js';
import type { AccessKey } from '../store/store.js';
import { KeyStreams } from './key-streams.js';

const key = accessKeyRecord;

function setup() {
  const stored = new Map<string, AccessKey>();
  let failing = false;
  const streams = new KeyStreams(
    {
      get: async (id) => {
        if (failing) throw new Error('database unreachable');
        return stored.get(id);
      },
    },
    pino({ level: 'silent' }),
    60_000,
  );
  const open = (of: AccessKey) => {
    stored.set(of.id, of);
    const controller = new AbortController();
    return { controller, unwatch: streams.watch(of, controller) };
  };
  return { stored, streams, open, fail: (on: boolean) => (failing = on) };
}

describe('KeyStreams', () => {
  it('ends the streams of a key disabled, deleted, or given another policy or group, and no others', async () => {
    const { stored, streams, open } = setup();
    const disabled = open(key('a'));
    const deleted = open(key('b'));
    const repoliced = open(key('c', { policy: '{"Statement":[]}' }));
    const regrouped = open(key('d', { resourceGroupId: 'rg-one' }));
    const kept = open(key('e', { policy: 'p', resourceGroupId: 'rg-one' }));
    await streams.recheck();
    expect(streams.size).toBe(5);

    stored.set('a', key('a', { status: 'Inactive' }));
    stored.delete('b');
    stored.set('c', key('c'));
    stored.set('d', key('d', { resourceGroupId: 'rg-two' }));
    await streams.recheck();
    for (const ended of [disabled, deleted, repoliced, regrouped])
      expect(ended.controller.signal.aborted).toBe(true);
    expect(kept.controller.signal.aborted).toBe(false);
    expect(streams.size).toBe(1);
    kept.unwatch();
    expect(streams.size).toBe(0);
  });

  it("revoke ends one key's streams at once, without reading the store", async () => {
    const { streams, open, fail } = setup();
    const first = open(key('a'));
    const second = open(key('a'));
    const other = open(key('b'));
    fail(true);
    streams.revoke('a');
    expect([first, second].map((s) => s.controller.signal.aborted)).toEqual([true, true]);
    expect(other.controller.signal.aborted).toBe(false);
    other.unwatch();
  });

  it('ends nothing while the store cannot be read', async () => {
    const { stored, streams, open, fail } = setup();
    const stream = open(key('a'));
    stored.delete('a');
    fail(true);
    await streams.recheck();
    expect(stream.controller.signal.aborted).toBe(false);
    fail(false);
    await streams.recheck();
    expect(stream.controller.signal.aborted).toBe(true);
  });
});
