import { describe, expect, it } from 'vitest';
import { minorCollection, TransferMemory, transferMemory } from './transfer-memory.js';

describe('TransferMemory', () => {
  it('collects once every collectEveryBytes moved, whatever the chunks', () => {
    let collections = 0;
    const memory = new TransferMemory(() => collections++, 100);
    memory.moved(60);
    expect(collections).toBe(0);
    memory.moved(60);
    expect(collections).toBe(1);
    memory.moved(99);
    expect(collections).toBe(1);
    memory.moved(1);
    expect(collections).toBe(2);
    memory.moved(1_000);
    expect(collections).toBe(3);
  });

  it("frees dead Buffers with V8's young-generation collector, and leaves no global gc", async () => {
    // Buffers that die young, as a transfer's chunks do: external memory V8 does not see fill up.
    const external = () => process.memoryUsage().arrayBuffers;
    const before = external();
    for (let i = 0; i < 64; i++) Buffer.alloc(256 * 1024, i).at(-1);
    // 16 MiB made; most of it still held (V8 collects on its own only past 64 MiB, or when its
    // young generation fills, which these few objects do not).
    expect(external() - before).toBeGreaterThanOrEqual(12 * 1024 * 1024);
    transferMemory.moved(transferMemory.collectEveryBytes);
    // Backing stores are released by V8's sweeper shortly after the collection.
    const deadline = Date.now() + 5_000;
    while (external() - before >= 8 * 1024 * 1024 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(external() - before).toBeLessThan(8 * 1024 * 1024);
    expect('gc' in globalThis).toBe(false);
  });

  it('asks the collector for a minor collection, and does nothing when there is no collector', () => {
    const asked: unknown[] = [];
    minorCollection((options: unknown) => asked.push(options))();
    expect(asked).toEqual([{ type: 'minor' }]);
    expect(() => minorCollection(undefined)()).not.toThrow();
  });
});
