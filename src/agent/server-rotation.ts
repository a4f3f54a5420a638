import { lookup } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** A DNS lookup that starts at the `turn`-th address of a name with several (round robin across attempts). */
export function rotatingLookup(turn: number): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      const rotated = rotate(addresses ?? [], turn);
      const first = rotated[0];
      if (error || !first) {
        callback(
          error ?? Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
          '',
          0,
        );
        return;
      }
      if (options.all) callback(null, rotated);
      else callback(null, first.address, first.family);
    });
  };
}

/** The items starting from the `turn`-th (modulo their number), the ones before it moved to the end. */
export function rotate<T>(items: readonly T[], turn: number): T[] {
  const start = items.length === 0 ? 0 : turn % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}
