import { createHash } from 'node:crypto';
import { ApiError } from '../domain/errors.js';
import {
  type FileUpload,
  fileUploadLimits,
  isEveryByteIn,
  placePart,
  validateUploadRequest,
} from '../domain/file-upload.js';
import { newUploadId } from '../domain/ids.js';
import type { Store } from '../store/store.js';
import { transferMemory } from '../transfer-memory.js';
import { UploadHashes } from './upload-hashes.js';

const notFound = (id: string) => new ApiError('InvalidUploadId.NotFound', `No upload ${id.slice(0, 80)}.`);

// A part racing another for the same offset loses the compare-and-set once, then sees the new count.
const appendAttempts = 3;

/**
 * Uploads for SendFile beyond 32 KB (`docs/file-transfer.md`): created with their size and
 * SHA-256, filled part by part in order, checked once complete (hashed as the parts arrive when they
 * all came through this node, else by reading the stored chunks one at a time), then bound to the
 * SendFile invocation whose agents download them.
 */
export class FileUploadService {
  // Uploads in flight on this node; a few hundred bytes each.
  private readonly hashes = new UploadHashes(256);

  constructor(
    private readonly store: Store,
    private readonly nowMs: () => number,
    private readonly maxFileBytes: number,
  ) {}

  async create(
    regionId: string,
    owner: string,
    sizeBytes: number | undefined,
    sha256: string | undefined,
  ): Promise<FileUpload> {
    const request = validateUploadRequest(sizeBytes, sha256, this.maxFileBytes);
    const upload: FileUpload = {
      id: newUploadId(),
      regionId,
      owner,
      ...request,
      receivedBytes: 0,
      state: 'Uploading',
      invokeId: '',
      createdAtMs: this.nowMs(),
    };
    if (!(await this.store.fileUploads.create(upload, fileUploadLimits.pendingPerKey))) {
      throw new ApiError('FileUpload.ExceedQuota', `At most ${fileUploadLimits.pendingPerKey} per key.`);
    }
    return upload;
  }

  /** The upload, if this key made it in this region: another key's is as unknown as a missing one. */
  async describe(regionId: string, owner: string, id: string): Promise<FileUpload> {
    const upload = await this.store.fileUploads.get(id);
    if (!upload || upload.regionId !== regionId || upload.owner !== owner) throw notFound(id);
    return upload;
  }

  /**
   * Stores one part sent for `offset` (`placePart` says where it goes). The part that brings the
   * last byte has the stored bytes hashed: a match completes the upload, a mismatch starts it again.
   */
  async putPart(
    regionId: string,
    owner: string,
    id: string,
    offset: number,
    data: Buffer,
  ): Promise<FileUpload> {
    transferMemory.moved(data.length);
    let upload = await this.describe(regionId, owner, id);
    for (let attempt = 0; ; attempt++) {
      const placement = placePart(upload, offset, data.length);
      if (!placement.append) break;
      if (attempt === appendAttempts) {
        throw new ApiError('InvalidUploadOffset.Mismatch', 'Other parts kept moving the upload on; retry.');
      }
      const at = upload.receivedBytes;
      const bytes = data.subarray(placement.skip);
      const result = await this.store.fileUploads.append(id, at, bytes);
      if (!result) throw notFound(id);
      if (result.appended) this.hashes.appended(id, at, bytes);
      upload = result.upload;
      if (result.appended) break;
    }
    return upload.state === 'Uploading' && isEveryByteIn(upload) ? this.verify(upload) : upload;
  }

  private async verify(upload: FileUpload): Promise<FileUpload> {
    if (
      (this.hashes.take(upload.id, upload.sizeBytes) ?? (await this.hashStored(upload))) !== upload.sha256
    ) {
      await this.store.fileUploads.restart(upload.id);
      throw new ApiError(
        'InvalidUploadContent.Sha256Mismatch',
        `The ${upload.sizeBytes} bytes received hash to another value than Sha256 ${upload.sha256}.`,
      );
    }
    await this.store.fileUploads.complete(upload.id);
    return { ...upload, state: 'Complete' };
  }

  /** Reads the stored chunks one at a time: the upload's parts did not all come through this node. */
  private async hashStored(upload: FileUpload): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of this.store.fileUploads.read(upload.id, 0)) hash.update(chunk);
    return hash.digest('hex');
  }

  /**
   * Binds a complete upload of this key to the SendFile invocation `invokeId` (before the
   * invocation is created: the same upload cannot be sent twice at once); `release` undoes it.
   */
  async bind(regionId: string, owner: string, id: string, invokeId: string): Promise<FileUpload> {
    const upload = await this.describe(regionId, owner, id);
    if (upload.state !== 'Complete') {
      throw new ApiError(
        'InvalidUploadId.Incomplete',
        `Upload ${id} has ${upload.receivedBytes} of ${upload.sizeBytes} bytes.`,
      );
    }
    if (!(await this.store.fileUploads.use(id, invokeId))) {
      throw new ApiError(
        'InvalidUploadId.InUse',
        `Upload ${id} is sent by ${upload.invokeId || 'another SendFile'}.`,
      );
    }
    return { ...upload, invokeId };
  }

  release(id: string, invokeId: string): Promise<void> {
    return this.store.fileUploads.release(id, invokeId);
  }

  /**
   * The file an agent may download: the upload of SendFile invocation `invokeId`, while a run of
   * it on the agent's own instance has not ended. Anything else is not found, so an agent learns
   * nothing of other instances' files.
   */
  async forAgent(instanceId: string, invokeId: string): Promise<FileUpload> {
    const missing = new ApiError(
      'InvalidFile.NotFound',
      `No file of ${invokeId.slice(0, 80)} for ${instanceId}.`,
    );
    const [upload, runs] = await Promise.all([
      this.store.fileUploads.ofInvocation(invokeId),
      this.store.invocations.liveRuns(invokeId, instanceId),
    ]);
    if (upload?.state !== 'Complete' || runs.length === 0) throw missing;
    return upload;
  }

  /** The bytes of an upload from `offset` on, a chunk at a time. */
  async *read(upload: FileUpload, offset: number): AsyncIterable<Buffer> {
    for await (const chunk of this.store.fileUploads.read(upload.id, offset)) {
      transferMemory.moved(chunk.length);
      yield chunk;
    }
  }

  /** Removes unused uploads past their retention and those of ended invocations. */
  async purge(): Promise<number> {
    const beforeMs = this.nowMs() - fileUploadLimits.unusedRetentionMs;
    let purged = 0;
    for (let batch = -1; batch !== 0; purged += batch) {
      // Few per transaction: each may hold a large file's chunks.
      batch = await this.store.fileUploads.purge(beforeMs, 10);
    }
    return purged;
  }
}
