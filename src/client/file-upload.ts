// Runs unchanged in Node 20 and in the browser console: fetch and Web Crypto only, no node: imports.
import { ApiCallError, invoke, UnreachableError } from './api.js';
import { Sha256 } from './sha256.js';
import type { Credentials } from './sign.js';

/**
 * The client of OpenAssist's upload extension (`docs/file-transfer.md`): CreateFileUpload, then
 * UploadFilePart in order from the ReceivedBytes DescribeFileUpload gives, so a dropped connection,
 * a restarted server or a second run of the same send resumes where the bytes stopped.
 */

/** A file to upload, read a part at a time: the caller never holds the whole file. */
export interface UploadSource {
  readonly sizeBytes: number;
  /** SHA-256 of the whole file, lower-case hex (the server checks the bytes against it). */
  readonly sha256: string;
  read(offset: number, length: number): Promise<Uint8Array<ArrayBuffer>>;
}

const hashSliceBytes = 1024 * 1024;

/**
 * A Blob (a file a page picked, or one of Node's) as an upload source, its SHA-256 computed first a
 * slice at a time (`onHashed` says how far): the page holds one slice, never the file.
 */
export async function blobSource(blob: Blob, onHashed?: (bytes: number) => void): Promise<UploadSource> {
  const slice = async (offset: number, length: number) =>
    new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
  const hash = new Sha256();
  for (let at = 0; at < blob.size; at += hashSliceBytes) {
    hash.update(await slice(at, hashSliceBytes));
    onHashed?.(Math.min(blob.size, at + hashSliceBytes));
  }
  return { sizeBytes: blob.size, sha256: hash.digestHex(), read: slice };
}

export interface UploadOptions {
  readonly regionId: string;
  /** Names the upload: a second send with the same token resumes it (within a day). */
  readonly clientToken?: string;
  /** Called after every stored part with the bytes the server holds. */
  readonly onProgress?: (receivedBytes: number) => void;
  /** Failures in a row (unreachable, 5xx, a moved offset) retried before giving up. */
  readonly retries?: number;
  /** Waits before retry `attempt` (1, 2, …); a real clock by default. */
  readonly pause?: (attempt: number) => Promise<void>;
}

interface UploadState {
  readonly UploadId: string;
  readonly ReceivedBytes: number;
  readonly State: string;
  readonly InvokeId?: string;
}

const defaultPause = (attempt: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** (attempt - 1))));

/** A failure worth another try once the upload's state is read again. */
const isTransient = (error: unknown): boolean =>
  error instanceof UnreachableError ||
  (error instanceof ApiCallError &&
    (error.status >= 500 || error.code === 'InvalidUploadOffset.Mismatch' || error.code === 'Throttling'));

/** Uploads `source` and returns its UploadId once the server holds every byte, checked. */
export async function uploadFile(
  credentials: Credentials,
  source: UploadSource,
  options: UploadOptions,
): Promise<string> {
  const regionId = options.regionId;
  const retries = options.retries ?? 8;
  const pause = options.pause ?? defaultPause;
  let failures = 0;
  const retrying = async <T>(work: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        const result = await work();
        failures = 0;
        return result;
      } catch (error) {
        if (!isTransient(error) || ++failures > retries) throw error;
        await pause(failures);
      }
    }
  };

  const create = (clientToken: string | undefined) =>
    retrying(() =>
      invoke<{ UploadId: string; PartBytes: number }>(credentials, 'CreateFileUpload', {
        RegionId: regionId,
        SizeBytes: source.sizeBytes,
        Sha256: source.sha256,
        ClientToken: clientToken,
      }),
    );
  const describeOnce = (uploadId: string) =>
    invoke<UploadState>(credentials, 'DescribeFileUpload', { RegionId: regionId, UploadId: uploadId });
  const describe = (uploadId: string) => retrying(() => describeOnce(uploadId));

  let created = await create(options.clientToken);
  let state = await describe(created.UploadId).catch((error: unknown) => {
    if (error instanceof ApiCallError && error.code === 'InvalidUploadId.NotFound') return undefined;
    throw error;
  });
  // The token's upload was sent already, or removed since: this send is a new one.
  if (!state || state.InvokeId) {
    created = await create(undefined);
    state = await describe(created.UploadId);
  }
  let received = state.State === 'Complete' ? source.sizeBytes : state.ReceivedBytes;
  options.onProgress?.(received);
  while (received < source.sizeBytes) {
    const offset = received;
    const bytes = await source.read(offset, Math.min(created.PartBytes, source.sizeBytes - offset));
    received = await retrying(async () => {
      try {
        const stored = await invoke<UploadState>(
          credentials,
          'UploadFilePart',
          { RegionId: regionId, UploadId: created.UploadId, Offset: offset },
          undefined,
          { bytes, type: 'application/octet-stream' },
        );
        return stored.ReceivedBytes;
      } catch (error) {
        if (!isTransient(error)) throw error;
        // The part may have been stored before the answer was lost: resume from what the server has.
        const now = await describeOnce(created.UploadId).catch(() => undefined);
        if (now && now.ReceivedBytes !== offset) return now.ReceivedBytes;
        throw error;
      }
    });
    options.onProgress?.(received);
  }
  return created.UploadId;
}
