import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

interface Semver {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
}
const semver = createRequire(import.meta.url)('semver') as Semver;

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
}

const root = new URL('../../', import.meta.url);
const read = <T>(file: string): T => JSON.parse(readFileSync(new URL(file, root), 'utf8')) as T;

// `npm ci` warns EBADENGINE for any package that refuses the Node it runs on; the oldest Node this
// package admits must be admitted by every package the lock installs, development tools included.
describe('the engines this package declares', () => {
  it('are admitted by every package in package-lock.json', () => {
    const declared = read<{ engines: { node: string } }>('package.json').engines.node;
    const oldest = semver.minVersion(declared)?.version ?? '';
    expect(oldest).not.toBe('');
    const lock = read<{ packages: Record<string, LockEntry> }>('package-lock.json');
    const refusing = Object.entries(lock.packages)
      .filter(([path, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return path !== '' && range !== undefined && !semver.satisfies(oldest, range);
      })
      .map(
        ([path, entry]) => `${path}@${entry.version} wants node ${(entry.engines as { node: string }).node}`,
      );
    expect(refusing, `Node ${oldest} (package.json engines ${declared})`).toEqual([]);
  });
});
