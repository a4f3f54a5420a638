import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../domain/errors.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { FileUploadService } from './file-uploads.js';

const region = 'cn-hangzhou';
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('FileUploadService on two nodes of one store', () => {
  let dir: string;
  let store: Store;
  let nodeA: FileUploadService;
  let nodeB: FileUploadService;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-uploads-'));
    store = await openStore(`sqlite:${join(dir, 'test.db')}`);
    nodeA = new FileUploadService(store, Date.now, 1024 * 1024 * 1024);
    nodeB = new FileUploadService(store, Date.now, 1024 * 1024 * 1024);
  });

  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('completes an upload whose parts came through different nodes, hashing the stored chunks', async () => {
    const file = randomBytes(3000);
    const upload = await nodeA.create(region, 'key', file.length, sha(file));
    await nodeA.putPart(region, 'key', upload.id, 0, file.subarray(0, 1000));
    await nodeB.putPart(region, 'key', upload.id, 1000, file.subarray(1000, 2000));
    const done = await nodeA.putPart(region, 'key', upload.id, 2000, file.subarray(2000));
    expect(done).toMatchObject({ state: 'Complete', receivedBytes: 3000 });
  });

  it('refuses bytes that hash otherwise on either path, and starts the upload again', async () => {
    for (const last of [nodeA, nodeB]) {
      const file = randomBytes(2000);
      const upload = await nodeA.create(region, 'key', file.length, sha(file));
      await nodeA.putPart(region, 'key', upload.id, 0, file.subarray(0, 1000));
      const wrong = Buffer.from(file.subarray(1000));
      wrong[0] = (wrong[0] ?? 0) ^ 1;
      const failure = await last
        .putPart(region, 'key', upload.id, 1000, wrong)
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ApiError);
      expect(failure).toMatchObject({ code: 'InvalidUploadContent.Sha256Mismatch' });
      expect(await nodeA.describe(region, 'key', upload.id)).toMatchObject({
        receivedBytes: 0,
        state: 'Uploading',
      });
    }
  });

  it('binds a complete upload to one invocation, and only its key sees it', async () => {
    const file = randomBytes(10);
    const upload = await nodeA.create(region, 'key', file.length, sha(file));
    await expect(nodeA.bind(region, 'key', upload.id, 'f-1')).rejects.toMatchObject({
      code: 'InvalidUploadId.Incomplete',
    });
    await nodeA.putPart(region, 'key', upload.id, 0, file);
    await expect(nodeA.bind(region, 'other', upload.id, 'f-1')).rejects.toMatchObject({
      code: 'InvalidUploadId.NotFound',
    });
    await expect(nodeA.bind('cn-shanghai', 'key', upload.id, 'f-1')).rejects.toMatchObject({
      code: 'InvalidUploadId.NotFound',
    });
    expect(await nodeA.bind(region, 'key', upload.id, 'f-1')).toMatchObject({ invokeId: 'f-1' });
    await expect(nodeB.bind(region, 'key', upload.id, 'f-2')).rejects.toMatchObject({
      code: 'InvalidUploadId.InUse',
    });
    await nodeB.release(upload.id, 'f-1');
    expect(await nodeB.bind(region, 'key', upload.id, 'f-2')).toMatchObject({ invokeId: 'f-2' });
  });
});
