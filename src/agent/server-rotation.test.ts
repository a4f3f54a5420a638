import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { rotate, rotatingLookup } from './server-rotation.js';

describe('failing over across the addresses of a server name', () => {
  it('starts each attempt one address further, round robin', () => {
    const addresses = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
    expect(rotate(addresses, 0)).toEqual(addresses);
    expect(rotate(addresses, 1)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.1']);
    expect(rotate(addresses, 5)).toEqual(['10.0.0.3', '10.0.0.1', '10.0.0.2']);
    expect(rotate([], 3)).toEqual([]);
  });

  it('answers both lookup shapes Node asks for (one address, or all of them)', async () => {
    const lookup = rotatingLookup(0);
    const one = await new Promise<[string, number]>((resolve, reject) =>
      lookup('localhost', {}, (error, address, family) =>
        error ? reject(error) : resolve([address as string, family ?? 0]),
      ),
    );
    expect(one[0]).toMatch(/^(127\.0\.0\.1|::1)$/);
    const all = await new Promise<LookupAddress[]>((resolve, reject) =>
      lookup('localhost', { all: true }, (error, addresses) =>
        error ? reject(error) : resolve(addresses as unknown as LookupAddress[]),
      ),
    );
    expect(all.map((entry) => entry.address)).toContain(one[0]);
  });
});
