import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiCallError, invoke } from '../../src/client/api.js';
import { uploadFile } from '../../src/client/file-upload.js';
import type { Credentials } from '../../src/client/sign.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { backendFactories } from '../helpers/backends.js';
import { waitFor } from '../helpers/deadline.js';
import { v1Raw } from '../helpers/raw-client.js';
import { Ecs, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const part = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (buffer: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(buffer);

/** The catalogued code and status of a refused call. */
async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (error instanceof ApiCallError) return `${error.status} ${error.code}`;
    throw error;
  }
  return 'accepted';
}

const sourceOf = (file: Buffer) => ({
  sizeBytes: file.length,
  sha256: sha256(file),
  read: async (offset: number, length: number) => bytesOf(file.subarray(offset, offset + length)),
});

for (const backend of backendFactories) {
  const available = await backend.available();
  describe.skipIf(!available)(`file uploads on ${backend.name}`, () => {
    const store = backend.make();
    let server: ServerProcess;
    let root: Credentials;
    let agent: AgentProcess;
    let scratch: string;

    const putPart = (credentials: Credentials, uploadId: string, offset: number, bytes: Buffer) =>
      invoke(
        credentials,
        'UploadFilePart',
        { RegionId: region, UploadId: uploadId, Offset: offset },
        undefined,
        {
          bytes: bytesOf(bytes),
          type: 'application/octet-stream',
        },
      );
    const create = (credentials: Credentials, file: Buffer, token?: string) =>
      invoke<{ UploadId: string; PartBytes: number }>(credentials, 'CreateFileUpload', {
        RegionId: region,
        SizeBytes: file.length,
        Sha256: sha256(file),
        ClientToken: token,
      });
    const describeUpload = (credentials: Credentials, uploadId: string) =>
      invoke<{ ReceivedBytes: number; State: string; SizeBytes: number; Sha256: string }>(
        credentials,
        'DescribeFileUpload',
        { RegionId: region, UploadId: uploadId },
      );

    beforeAll(async () => {
      server = await startServerProcess({
        ...(store.databaseUrl && { databaseUrl: store.databaseUrl }),
        env: { OPENASSIST_FILE_MAX_BYTES: String(8 * part) },
      });
      root = {
        endpoint: server.url,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
      };
      const { body } = await ecsClient(
        server.endpoint,
        server.accessKeyId,
        server.accessKeySecret,
      ).createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
      agent = await startAgentProcess({
        serverUrl: server.url,
        activationId: body?.activationId ?? '',
        activationCode: body?.activationCode ?? '',
      });
      scratch = await mkdtemp(join(tmpdir(), 'openassist-upload-'));
    });

    afterAll(async () => {
      await agent?.stop();
      await rm(scratch, { recursive: true, force: true });
      await server?.stop();
      await store.dispose();
    });

    it('takes a file in parts, resumes from ReceivedBytes and completes once the bytes hash right', async () => {
      const file = randomBytes(2 * part + 12_345);
      const { UploadId, PartBytes } = await create(root, file, 'resume-token');
      expect(PartBytes).toBe(part);
      await putPart(root, UploadId, 0, file.subarray(0, part));
      // A retried part, and one partly held, change nothing but the new tail.
      await putPart(root, UploadId, 0, file.subarray(0, part));
      await putPart(root, UploadId, part - 10, file.subarray(part - 10, part + 10));
      expect(await describeUpload(root, UploadId)).toMatchObject({
        ReceivedBytes: part + 10,
        State: 'Uploading',
      });
      // The same token names the same upload; the client resumes from what the server has.
      const progress: number[] = [];
      const again = await uploadFile(root, sourceOf(file), {
        regionId: region,
        clientToken: 'resume-token',
        onProgress: (received) => progress.push(received),
      });
      expect(again).toBe(UploadId);
      expect(progress).toEqual([part + 10, 2 * part + 10, file.length]);
      expect(await describeUpload(root, UploadId)).toMatchObject({
        ReceivedBytes: file.length,
        State: 'Complete',
        Sha256: sha256(file),
      });
    });

    it('sends a completed upload with SendFile to a real agent, once; Content and UploadId exclude each other', async () => {
      const file = randomBytes(3 * part + 7);
      const uploadId = await uploadFile(root, sourceOf(file), { regionId: region });
      const send = (extra: Record<string, string>) =>
        invoke<{ InvokeId: string }>(root, 'SendFile', {
          RegionId: region,
          'InstanceId.1': agent.instanceId,
          Name: 'uploaded.bin',
          TargetDir: scratch,
          ...extra,
        });
      expect(await refusal(send({ UploadId: uploadId, Content: 'aGk=' }))).toBe('400 InvalidParameter');
      const { InvokeId } = await send({ UploadId: uploadId });
      expect(await refusal(send({ UploadId: uploadId }))).toBe('403 InvalidUploadId.InUse');
      expect(await describeUpload(root, uploadId)).toMatchObject({ State: 'Complete', InvokeId });
      const run = await waitFor(
        'the agent to place the file',
        async () => {
          const body = await invoke<{
            Invocations: {
              Invocation: { InvokeInstances: { InvokeInstance: { InvocationStatus: string }[] } }[];
            };
          }>(root, 'DescribeSendFileResults', { RegionId: region, InvokeId });
          const row = body.Invocations.Invocation[0]?.InvokeInstances.InvokeInstance[0];
          return row && ['Success', 'Failed', 'Error'].includes(row.InvocationStatus) ? row : undefined;
        },
        30_000,
      );
      expect(run.InvocationStatus).toBe('Success');
      expect(sha256(await readFile(join(scratch, 'uploaded.bin')))).toBe(sha256(file));
    });

    it('refuses a gap, a part past the size, an oversized part and a body V1 cannot sign', async () => {
      const file = randomBytes(3 * part);
      const { UploadId } = await create(root, file);
      expect(await refusal(putPart(root, UploadId, 1, file.subarray(1, 10)))).toBe(
        '400 InvalidUploadOffset.Mismatch',
      );
      expect(await refusal(putPart(root, UploadId, 0, randomBytes(part + 1)))).toBe('413 RequestTooLarge');
      await putPart(root, UploadId, 0, file.subarray(0, part));
      expect(await refusal(putPart(root, UploadId, 2 * part + 1, file.subarray(0, part)))).toBe(
        '400 InvalidUploadOffset.Mismatch',
      );
      expect(await refusal(putPart(root, UploadId, part, Buffer.alloc(0)))).toBe('400 InvalidParameter');
      const v1 = await v1Raw({
        url: server.url,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
        action: 'UploadFilePart',
        params: { RegionId: region, UploadId, Offset: String(part) },
      });
      expect([v1.status, v1.json.Code]).toEqual([400, 'InvalidParameter']);
      // Bytes sent to an action that takes none.
      const stray = await refusal(
        invoke(root, 'DescribeRegions', {}, undefined, {
          bytes: bytesOf(file.subarray(0, 5)),
          type: 'application/octet-stream',
        }),
      );
      expect(stray).toBe('400 InvalidParameter');
      expect(await describeUpload(root, UploadId)).toMatchObject({ ReceivedBytes: part });
    });

    it('starts an upload again when its bytes do not hash to its Sha256', async () => {
      const file = randomBytes(part + 1);
      const { UploadId } = await create(root, file);
      await putPart(root, UploadId, 0, file.subarray(0, part));
      expect(await refusal(putPart(root, UploadId, part, Buffer.from([file[part]! ^ 1])))).toBe(
        '400 InvalidUploadContent.Sha256Mismatch',
      );
      expect(await describeUpload(root, UploadId)).toMatchObject({ ReceivedBytes: 0, State: 'Uploading' });
    });

    it("checks the request, keeps each key's uploads its own and bounds a key's unused uploads", async () => {
      const file = randomBytes(100);
      expect(await refusal(create(root, randomBytes(0)))).toBe('400 InvalidParameter');
      const tooBig = invoke(root, 'CreateFileUpload', {
        RegionId: region,
        SizeBytes: 8 * part + 1,
        Sha256: sha256(file),
      });
      expect(await refusal(tooBig)).toBe('400 InvalidFileSize.ExceedLimit');
      const badSha = invoke(root, 'CreateFileUpload', { RegionId: region, SizeBytes: 100, Sha256: 'abc' });
      expect(await refusal(badSha)).toBe('400 InvalidSha256.Malformed');
      expect(await refusal(describeUpload(root, 'up-00000000000000000000000000000000'))).toBe(
        '404 InvalidUploadId.NotFound',
      );

      const { AccessKey } = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
        root,
        'CreateAccessKey',
        {},
        '2015-05-01',
      );
      const other: Credentials = {
        endpoint: server.url,
        accessKeyId: AccessKey.AccessKeyId,
        accessKeySecret: AccessKey.AccessKeySecret,
      };
      const { UploadId } = await create(root, file);
      expect(await refusal(describeUpload(other, UploadId))).toBe('404 InvalidUploadId.NotFound');
      expect(await refusal(putPart(other, UploadId, 0, file))).toBe('404 InvalidUploadId.NotFound');

      for (let i = 0; i < 10; i++) await create(other, file);
      expect(await refusal(create(other, file))).toBe('403 FileUpload.ExceedQuota');
    });
  });
}
