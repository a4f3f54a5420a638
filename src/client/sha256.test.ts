import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobSource } from './file-upload.js';
import { Sha256 } from './sha256.js';

const reference = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('Sha256', () => {
  it('matches the known digests of the empty text and "abc"', () => {
    expect(new Sha256().digestHex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(new Sha256().update(new TextEncoder().encode('abc')).digestHex()).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('matches node:crypto for every length around the block and padding edges, fed in any pieces', () => {
    for (const length of [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 100_003]) {
      const bytes = randomBytes(length);
      const whole = new Sha256().update(bytes).digestHex();
      const pieces = new Sha256();
      for (let at = 0, step = 1; at < length; at += step, step = ((step * 7 + 3) % 97) + 1) {
        pieces.update(bytes.subarray(at, at + step));
      }
      expect(whole, `length ${length}`).toBe(reference(bytes));
      expect(pieces.digestHex(), `length ${length} in pieces`).toBe(reference(bytes));
    }
  });
});

describe('blobSource', () => {
  it('hashes a Blob a slice at a time and reads any part of it', async () => {
    const bytes = randomBytes(2 * 1024 * 1024 + 5);
    const seen: number[] = [];
    const source = await blobSource(new Blob([bytes]), (hashed) => seen.push(hashed));
    expect(source).toMatchObject({ sizeBytes: bytes.length, sha256: reference(bytes) });
    expect(seen).toEqual([1024 * 1024, 2 * 1024 * 1024, bytes.length]);
    expect(Buffer.from(await source.read(1_000_000, 10)).equals(bytes.subarray(1_000_000, 1_000_010))).toBe(
      true,
    );
  });
});
