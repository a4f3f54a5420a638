import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';

/** Mounts a tmpfs of `size` (e.g. `2m`) on `dir`; returns why there is none (mounting needs root). */
export function mountSmallDisk(dir: string, size: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    const why = `cannot mount a tmpfs (${String(error).split('\n')[0]})`;
    if (process.env.CI === 'true') throw new Error(`a disk-full test needs a tmpfs in CI: ${why}`);
    return why;
  }
}

export function unmountSmallDisk(dir: string): void {
  execFileSync('umount', [dir]);
}

/** Writes zeros into `file` until the disk refuses: every byte of it is taken. */
export function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (let size = block.length; size >= 1; ) {
      try {
        writeSync(fd, block, 0, size);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        size = Math.floor(size / 2);
      }
    }
  } finally {
    closeSync(fd);
  }
}
