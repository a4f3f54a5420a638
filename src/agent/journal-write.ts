import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes all of `bytes` at the descriptor's position (a write may take less than asked). */
export function writeWhole(fd: number, bytes: Buffer): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

/** Creates (or empties) `path`, owner-only, writes `parts` and syncs it to the disk. */
export function writeSynced(path: string, parts: readonly Buffer[]): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    for (const part of parts) writeWhole(fd, part);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Syncs a directory, so a rename in it survives a power cut. */
export function syncDir(dir: string): void {
  // Windows cannot open a directory for syncing; NTFS journals the rename itself.
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts a whole, synced file in place of `to` (rename, then the directory synced): after a crash at
 * any step, `to` is either the old file or the new one, never a part.
 */
export function replaceSynced(from: string, to: string): void {
  renameSync(from, to);
  syncDir(dirname(to));
}

/** Writes `path` atomically: a temporary file beside it, synced, renamed over it. */
export function writeFileAtomically(path: string, parts: readonly Buffer[]): void {
  const temp = `${path}.new`;
  writeSynced(temp, parts);
  replaceSynced(temp, path);
}
