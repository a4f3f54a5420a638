import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';

const MiB = 1024 * 1024;

/** A file of `mebibytes` random MiB written a MiB at a time; returns its SHA-256. */
export async function randomFile(path: string, mebibytes: number): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  try {
    for (let i = 0; i < mebibytes; i++) {
      const piece = randomBytes(MiB);
      hash.update(piece);
      await file.write(piece);
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** The SHA-256 of a file, read as a stream. */
export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Resident memory of a process in MiB, from /proc. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** Samples the peak resident memory of some processes every 25 ms until stopped. */
export function peakSampler(pids: readonly number[]) {
  const peaks = pids.map(() => 0);
  let running = true;
  const done = (async () => {
    while (running) {
      for (const [i, pid] of pids.entries()) peaks[i] = Math.max(peaks[i] ?? 0, await rssMiB(pid));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    async stop(): Promise<number[]> {
      running = false;
      await done;
      return peaks;
    },
  };
}
