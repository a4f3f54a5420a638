import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256 } from './sha256.js';

const nodeHex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('SHA-256 fed in pieces', () => {
  it('gives the standard digests (FIPS 180-4 examples)', () => {
    expect(new Sha256().hex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(new Sha256().update(new TextEncoder().encode('abc')).hex()).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it.each([1, 55, 56, 63, 64, 65, 119, 120, 128, 1000])('agrees with node:crypto on %i bytes', (length) => {
    const bytes = randomBytes(length);
    expect(new Sha256().update(bytes).hex()).toBe(nodeHex(bytes));
  });

  it('gives the same digest however the input is cut', () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const hash = new Sha256();
    for (let at = 0; at < bytes.length; ) {
      const piece = 1 + Math.floor(Math.random() * 200_000);
      hash.update(bytes.subarray(at, at + piece));
      at += piece;
    }
    expect(hash.hex()).toBe(nodeHex(bytes));
  });
});
