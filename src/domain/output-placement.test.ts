import { describe, expect, it } from 'vitest';
import { placeChunk } from './output-placement.js';

describe('placing an output chunk', () => {
  const empty = { storedBytes: 0, droppedBytes: 0 };

  it('stores the chunk that continues the output, whole while under the cap', () => {
    expect(placeChunk(empty, 0, 5, 100)).toEqual({ from: 0, to: 5, droppedBytes: 0 });
    expect(placeChunk({ storedBytes: 5, droppedBytes: 0 }, 5, 5, 100)).toEqual({
      from: 0,
      to: 5,
      droppedBytes: 0,
    });
  });

  it('ignores a repeat, whether its bytes were stored or counted as dropped', () => {
    expect(placeChunk({ storedBytes: 5, droppedBytes: 0 }, 0, 5, 100)).toBeUndefined();
    expect(placeChunk({ storedBytes: 5, droppedBytes: 3 }, 5, 3, 100)).toBeUndefined();
    expect(placeChunk({ storedBytes: 5, droppedBytes: 0 }, 5, 0, 100)).toBeUndefined();
  });

  it('counts a gap before the chunk as dropped and stores the chunk after what is stored', () => {
    expect(placeChunk({ storedBytes: 5, droppedBytes: 0 }, 9, 2, 100)).toEqual({
      from: 0,
      to: 2,
      droppedBytes: 4,
    });
  });

  it('stores only the new part of a chunk that overlaps what was counted', () => {
    expect(placeChunk({ storedBytes: 5, droppedBytes: 0 }, 3, 4, 100)).toEqual({
      from: 2,
      to: 4,
      droppedBytes: 0,
    });
  });

  it('counts what the cap leaves out, and every later chunk, as dropped', () => {
    expect(placeChunk({ storedBytes: 8, droppedBytes: 0 }, 8, 5, 10)).toEqual({
      from: 0,
      to: 2,
      droppedBytes: 3,
    });
    expect(placeChunk({ storedBytes: 10, droppedBytes: 3 }, 13, 4, 10)).toEqual({
      from: 0,
      to: 0,
      droppedBytes: 4,
    });
  });
});
