import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, open, rename, unlink } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { dirname } from 'node:path';

/** Why an upgrade attempt failed; the old executable keeps running. */
export class UpgradeError extends Error {
  override name = 'UpgradeError';
}

/** Bounds on one download: the whole of it, and silence on the connection. */
export const downloadLimits = {
  /** The largest executable taken (Node inside makes it about 100 MiB). */
  maxBytes: 512 * 1024 * 1024,
  totalMs: 10 * 60_000,
  idleMs: 60_000,
} as const;

/** The size of each write of the download (see downloadExecutable). */
const writePieceBytes = 16 * 1024;

export interface DownloadRequest {
  readonly url: URL;
  /** The CA(s) trusted for an https:// server, as for the agent's channel. */
  readonly ca: Buffer | undefined;
  readonly sizeBytes: number;
  readonly sha256: string;
}

function request(url: URL, ca: Buffer | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const options = { timeout: downloadLimits.idleMs, ...(ca && { ca }) };
    const req =
      url.protocol === 'https:'
        ? httpsGet(url, options, resolve)
        : httpGet(url, { timeout: options.timeout }, resolve);
    req.on('timeout', () =>
      req.destroy(new UpgradeError(`no answer from ${url.origin} in ${downloadLimits.idleMs} ms`)),
    );
    req.on('error', reject);
  });
}

/**
 * Downloads the offered executable to `dest` (created 0700, flushed to disk), hashing it on the way;
 * refuses anything but exactly `sizeBytes` bytes with the offered sha256. Never holds it in memory.
 */
export async function downloadExecutable(offer: DownloadRequest, dest: string): Promise<void> {
  if (offer.sizeBytes > downloadLimits.maxBytes) {
    throw new UpgradeError(
      `the offered executable is ${offer.sizeBytes} bytes, over ${downloadLimits.maxBytes}`,
    );
  }
  const response = await request(offer.url, offer.ca);
  const deadline = setTimeout(
    () => response.destroy(new UpgradeError(`the download took over ${downloadLimits.totalMs} ms`)),
    downloadLimits.totalMs,
  );
  try {
    if (response.statusCode !== 200) {
      response.resume();
      throw new UpgradeError(`the server answered ${response.statusCode} for ${offer.url.pathname}`);
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const file = await open(dest, 'w', 0o700);
    try {
      response.on('aborted', () => response.destroy(new UpgradeError('the server cut the download short')));
      // Node types a stream's chunks any: one without an encoding set yields Buffers.
      for await (const chunk of response as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > offer.sizeBytes) {
          response.destroy();
          throw new UpgradeError(`the download is longer than the offered ${offer.sizeBytes} bytes`);
        }
        hash.update(chunk);
        // Written in small pieces, not as the chunks arrive: the kernel keeps a file written in
        // large writes in large page-cache folios, and every page the agent then runs from pulls a
        // whole folio into its RSS (about 45 instead of 43 MiB idle with 64 KiB writes).
        for (let at = 0; at < chunk.length; at += writePieceBytes) {
          await file.write(chunk.subarray(at, at + writePieceBytes));
        }
      }
    } finally {
      await file.close();
    }
    if (bytes !== offer.sizeBytes) {
      throw new UpgradeError(
        `the download has ${bytes} bytes, not the offered ${offer.sizeBytes} (cut short?)`,
      );
    }
    const digest = hash.digest('hex');
    if (digest !== offer.sha256) {
      throw new UpgradeError(`the download's sha256 is ${digest}, not the offered ${offer.sha256}`);
    }
    await syncFile(dest);
  } finally {
    clearTimeout(deadline);
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the download executable and runs it once with `--version`: it must start and say `version`. */
export async function trialRun(path: string, version: string): Promise<void> {
  await chmod(path, 0o755);
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      path,
      ['--version'],
      { timeout: 30_000, maxBuffer: 64 * 1024, env: {} },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new UpgradeError(
              `the new executable failed its trial run: ${(stderr || error.message).trim().slice(0, 300)}`,
            ),
          );
        else resolve(stdout);
      },
    );
  });
  if (!output.split(/\s+/).includes(version)) {
    throw new UpgradeError(`the new executable says it is "${output.trim().slice(0, 80)}", not ${version}`);
  }
}

/**
 * Puts the new executable in place of the running one in one step (rename within its directory,
 * then the directory flushed): a crash leaves either the old file or the new one, never half.
 */
export async function swapIn(staged: string, target: string): Promise<void> {
  await rename(staged, target);
  await syncFile(dirname(target)).catch(() => undefined);
}

/** Removes a staged download that will not be used. */
export const discard = (path: string): Promise<void> => unlink(path).catch(() => undefined);
