import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type FileHandle, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { transferMemory } from '../transfer-memory.js';

/**
 * Downloads a sent file's bytes from the server into the run's temporary file
 * (`GET /agent/v1/files/<invokeId>`, authenticated like the channel), hashing them on the way; a
 * dropped connection resumes with `Range: bytes=N-` from the bytes already written, so the file is
 * never held in memory and never fetched twice. The bytes must be exactly `sizeBytes` with the
 * announced SHA-256, else the download fails and the caller removes the temporary file.
 */

/** Why a download failed, as the run reports it: a transfer that could not finish, or wrong bytes. */
export class FileDownloadError extends Error {
  override name = 'FileDownloadError';
  constructor(
    readonly code: 'FileDownloadFailed' | 'FileChecksumMismatch',
    message: string,
  ) {
    super(message);
  }
}

export interface FileDownloadRequest {
  /** The server's path for the file (`/agent/v1/files/<invokeId>`), resolved against `serverUrl`. */
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** The server the agent talks to now (it changes when the channel moves to another). */
  readonly serverUrl: () => string;
  readonly instanceId: string;
  readonly token: string;
  /** The CA(s) trusted for an https:// server, as for the channel. */
  readonly ca?: Buffer | undefined;
  /**
   * Test-only (OPENASSIST_TEST_FILE_DOWNLOAD_PAUSE): past half the file, create this file and read
   * nothing more until it is removed, so a test can drop the connection in the middle.
   */
  readonly pauseMarker?: string | undefined;
}

export const downloadLimits = {
  /** Attempts in a row that bring no new byte before the download fails. */
  attempts: 8,
  /** Silence on the connection before it counts as dropped. */
  idleMs: 30_000,
  /** Waits between attempts: 0.5 s doubling, at most 8 s. */
  firstPauseMs: 500,
  maxPauseMs: 8_000,
} as const;

// Written in small pieces, as the upgrade download does: large writes keep large page-cache folios.
const writePieceBytes = 64 * 1024;

function get(download: FileDownloadRequest, offset: number, signal: AbortSignal): Promise<IncomingMessage> {
  const url = new URL(download.path, download.serverUrl());
  const headers: Record<string, string> = {
    'x-openassist-instance-id': download.instanceId,
    authorization: `Bearer ${download.token}`,
    ...(offset > 0 && { range: `bytes=${offset}-` }),
  };
  return new Promise((resolve, reject) => {
    const options = { headers, signal, timeout: downloadLimits.idleMs };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { ...options, ...(download.ca && { ca: download.ca }) }, resolve)
        : httpRequest(url, options, resolve);
    req.on('timeout', () =>
      req.destroy(new Error(`no bytes from ${url.origin} in ${downloadLimits.idleMs} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

/** The server's refusal, read from its error body (small; the agent routes answer JSON). */
async function refusalOf(response: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of response as AsyncIterable<Buffer>) {
    if (text.length < 2048) text += chunk.toString('utf8');
  }
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'Code' in body) {
      return `${String(body.Code)}: ${'Message' in body ? String(body.Message) : ''}`;
    }
  } catch {
    // not JSON: the status says enough
  }
  return `status ${response.statusCode}`;
}

/** Statuses worth another attempt: the server busy, restarting or throttling; anything else is final. */
const retried = (status: number) => status === 429 || status >= 500;

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** The test hook's wait: the marker file made, then polled until the test removes it. */
async function holdWhile(marker: string, signal: AbortSignal): Promise<void> {
  await writeFile(marker, '');
  while (existsSync(marker)) await pause(50, signal);
}

/**
 * Writes the file into `file` (an empty temporary file) and checks it. Rejects with the signal's
 * reason once `signal` aborts (the run timed out or was stopped).
 */
export async function downloadInto(
  download: FileDownloadRequest,
  file: FileHandle,
  signal: AbortSignal,
): Promise<void> {
  const hash = createHash('sha256');
  let written = 0;
  let failures = 0;
  let lastFailure = '';
  // A failed write (a full disk) ends the download at once: another attempt would not help.
  let writing = false;
  let paused = false;
  while (written < download.sizeBytes) {
    signal.throwIfAborted();
    const before = written;
    try {
      const response = await get(download, written, signal);
      const expected = written > 0 ? 206 : 200;
      if (response.statusCode !== expected) {
        const why = await refusalOf(response);
        if (!retried(response.statusCode ?? 0)) {
          throw new FileDownloadError('FileDownloadFailed', `the server refused the download (${why})`);
        }
        throw new Error(why);
      }
      for await (const chunk of response as AsyncIterable<Buffer>) {
        if (written + chunk.length > download.sizeBytes) {
          response.destroy();
          throw new FileDownloadError(
            'FileDownloadFailed',
            `the server sent more than ${download.sizeBytes} bytes`,
          );
        }
        for (let at = 0; at < chunk.length; at += writePieceBytes) {
          const piece = chunk.subarray(at, at + writePieceBytes);
          writing = true;
          await file.write(piece, 0, piece.length, written);
          writing = false;
          written += piece.length;
          hash.update(piece);
        }
        transferMemory.moved(chunk.length);
        if (download.pauseMarker && !paused && written >= download.sizeBytes / 2) {
          paused = true;
          await holdWhile(download.pauseMarker, signal);
        }
      }
      if (written < download.sizeBytes) throw new Error(`the connection ended after ${written} bytes`);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof FileDownloadError || writing) throw error;
      lastFailure = error instanceof Error ? error.message : String(error);
      // Progress resets the count: only attempts that bring nothing new use it up.
      failures = written > before ? 1 : failures + 1;
      if (failures >= downloadLimits.attempts) {
        throw new FileDownloadError(
          'FileDownloadFailed',
          `${written} of ${download.sizeBytes} bytes after ${failures} attempts (${lastFailure})`,
        );
      }
      await pause(
        Math.min(downloadLimits.maxPauseMs, downloadLimits.firstPauseMs * 2 ** (failures - 1)),
        signal,
      );
    }
  }
  const digest = hash.digest('hex');
  if (digest !== download.sha256) {
    throw new FileDownloadError(
      'FileChecksumMismatch',
      `the ${written} bytes downloaded hash to ${digest}, not ${download.sha256}`,
    );
  }
}
