import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectStorageSettings } from '../config.js';
import { errnoCode, isRecord } from '../guards.js';

/** Where runs' output is uploaded: one object per run, its bytes streamed in. */
export interface ObjectStorage {
  /** Writes the object whole; rejects with an `UploadError`. */
  put(bucket: string, key: string, body: AsyncIterable<Buffer>): Promise<void>;
}

/** A failed upload as a result shows it: the storage's error code (or a network one) and its message. */
export class UploadError extends Error {
  override name = 'UploadError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Parts of a multipart upload (S3's least is 5 MiB); an output under one part is a single PUT.
const partBytes = 8 * 1024 * 1024;
const maxInfoLength = 200;

/**
 * The S3 API of OSS, MinIO, Ceph or AWS, with the server's own key (never one from a request).
 * The S3 client is loaded on the first upload: a server (or CLI) that delivers nothing never loads it.
 */
export function s3ObjectStorage(settings: ObjectStorageSettings): ObjectStorage {
  let loaded: Promise<{ client: S3Client; Upload: typeof import('@aws-sdk/lib-storage').Upload }> | undefined;
  const load = async () => {
    const [{ S3Client }, { Upload }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('@aws-sdk/lib-storage'),
    ]);
    const client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.accessKeySecret },
      // No streamed checksums: their aws-chunked framing is stored as the object's bytes by stores
      // that do not decode it; every request here has its length known, so a plain signed body is
      // byte-exact on OSS, MinIO and S3 alike.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The delivery job retries with its own backoff; an unreachable storage fails the attempt at once.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    });
    return { client, Upload };
  };
  return {
    async put(bucket, key, body) {
      try {
        loaded ??= load();
        const { client, Upload } = await loaded;
        const upload = new Upload({
          client,
          params: { Bucket: bucket, Key: key, Body: Readable.from(body), ContentType: 'text/plain' },
          partSize: partBytes,
          queueSize: 2,
          leavePartsOnError: false,
        });
        await upload.done();
      } catch (error) {
        throw uploadError(error);
      }
    },
  };
}

/** The code and message a result shows of a failed upload (never a credential: S3 errors carry none). */
export function uploadError(error: unknown): UploadError {
  if (error instanceof UploadError) return error;
  const message = (error instanceof Error ? error.message : String(error)).slice(0, maxInfoLength);
  const errno = errnoCode(error);
  if (errno !== undefined)
    return new UploadError('ConnectionFailed', `${errno}: ${message}`.slice(0, maxInfoLength));
  // A storage's answer (S3ServiceException) carries the response's metadata and the storage's code as its name.
  if (error instanceof Error && isRecord(error) && '$metadata' in error && error.name !== 'Error')
    return new UploadError(error.name, message);
  return new UploadError('UploadFailed', message);
}
