import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { errnoCode } from './guards.js';

// The server's data dir and the agent's state dir hold secrets (the root key, the database, the
// agent's token and journal). Modes are set explicitly, never left to the umask, and a dir made
// by an older version (or by hand) is tightened at start.

/** A mode that was changed: what it was and what it is now. */
export interface Tightened {
  readonly path: string;
  readonly from: number;
  readonly to: number;
}

/** Gives `path` exactly `mode`; the change, or undefined when it had it already (or is gone). */
function setMode(path: string, mode: number): Tightened | undefined {
  let from: number;
  try {
    from = statSync(path).mode & 0o7777;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  if (from === mode) return undefined;
  chmodSync(path, mode);
  return { path, from, to: mode };
}

// Windows has ACLs, not modes: chmod there only sets a read-only flag.
const modesApply = process.platform !== 'win32';

/** Takes every other user's access away from a file (its owner's bits are kept): 0644 becomes 0600. */
export function tightenFile(path: string): Tightened | undefined {
  if (!modesApply) return undefined;
  let from: number;
  try {
    from = statSync(path).mode & 0o7777;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  return from & 0o077 ? setMode(path, from & 0o700) : undefined;
}

/** Makes `dir` with exactly `mode` (or gives an existing one that mode) and tightens every file directly in it. */
export function privateDir(dir: string, mode: number): Tightened[] {
  mkdirSync(dir, { recursive: true, mode });
  if (!modesApply) return [];
  const changed = [setMode(dir, mode)];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) changed.push(tightenFile(join(dir, entry.name)));
  }
  return changed.filter((change): change is Tightened => change !== undefined);
}

/** Creates `path` empty with mode 0600 unless it exists; SQLite then gives its -wal and -shm that mode. */
export function createPrivateFile(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
}

/** `DIR 755→700, name 644→600, …`: `base` by its path, what is below it relative to it. */
export function describeTightened(changes: readonly Tightened[], base: string): string {
  return changes
    .map(({ path, from, to }) => `${relative(base, path) || path} ${from.toString(8)}→${to.toString(8)}`)
    .join(', ');
}
