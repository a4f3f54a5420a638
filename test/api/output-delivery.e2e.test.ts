import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';
import {
  Ecs,
  type EcsClient,
  ecsClient,
  expectApiError,
  finishedResult,
  invocationResults,
} from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const bucket = 'openassist-out';
const capBytes = String(32 * 1024 * 1024);

let storage: S3Server;
let server: ServerProcess;
let client: EcsClient;
let agent: AgentProcess;
let instanceId: string;
let reader: S3Client;

beforeAll(async () => {
  storage = await startS3Server([bucket]);
  server = await startServerProcess({
    env: {
      OPENASSIST_OSS_ENDPOINT: storage.endpoint,
      OPENASSIST_OSS_ACCESS_KEY_ID: storage.accessKeyId,
      OPENASSIST_OSS_ACCESS_KEY_SECRET: storage.accessKeySecret,
      OPENASSIST_OSS_FORCE_PATH_STYLE: '1',
      // 0.5 s, 1 s, 2 s, … (at most 30 s) between attempts instead of 5 s, 10 s, …
      OPENASSIST_TEST_OSS_RETRY_BASE_MS: '500',
      OPENASSIST_OUTPUT_CAP_BYTES: capBytes,
    },
  });
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
  agent = await startAgentProcess({
    serverUrl: server.url,
    activationId: body?.activationId ?? '',
    activationCode: body?.activationCode ?? '',
    env: { OPENASSIST_AGENT_OUTPUT_CAP_BYTES: capBytes },
  });
  instanceId = agent.instanceId;
  reader = new S3Client({
    endpoint: storage.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: storage.accessKeyId, secretAccessKey: storage.accessKeySecret },
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
});

afterAll(async () => {
  reader?.destroy();
  await agent?.stop();
  await server?.stop();
  await storage?.remove();
});

const run = async (script: string, ossOutputDelivery?: string) => {
  const { body } = await client.runCommand(
    new Ecs.RunCommandRequest({
      regionId: region,
      type: 'RunShellScript',
      commandContent: script,
      contentEncoding: 'PlainText',
      instanceId: [instanceId],
      timeout: 120,
      ...(ossOutputDelivery !== undefined && { ossOutputDelivery }),
    }),
  );
  return body?.invokeId ?? '';
};

/** The run's result once its upload has ended (Finished or Failed). */
const delivered = (invokeId: string, timeoutMs = 30_000) =>
  waitFor(
    `the output of ${invokeId} to be delivered`,
    async () => {
      const [row] = await invocationResults(client, invokeId);
      return row?.ossOutputStatus === 'Finished' || row?.ossOutputStatus === 'Failed' ? row : undefined;
    },
    timeoutMs,
  );

const objectBytes = async (key: string): Promise<Buffer> => {
  const object = await reader.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
};

/** `seq 1 n`'s output, built here to compare the object with. */
const seqOutput = (n: number): Buffer => {
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) lines.push(String(i));
  return Buffer.from(`${lines.join('\n')}\n`);
};

describe('output delivery to object storage', () => {
  it('uploads the output as prefix/InvokeId/InstanceId.log, byte for byte, and the result says so', async () => {
    const invokeId = await run(
      'seq 1 5000; printf "tail without newline"',
      'oss://openassist-out/runs/daily/',
    );
    expect((await finishedResult(client, invokeId)).invocationStatus).toBe('Success');
    const row = await delivered(invokeId);
    const key = `runs/daily/${invokeId}/${instanceId}.log`;
    expect(row).toMatchObject({
      ossOutputStatus: 'Finished',
      ossOutputUri: `oss://${bucket}/${key}`,
      ossOutputErrorCode: '',
      ossOutputErrorInfo: '',
      ossOutputDelivery: 'oss://openassist-out/runs/daily',
    });
    const expected = Buffer.concat([seqOutput(5000), Buffer.from('tail without newline')]);
    expect((await objectBytes(key)).equals(expected)).toBe(true);
    // The storage checks signatures: a request signed with another secret is refused.
    const forged = new S3Client({
      endpoint: storage.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: storage.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    await expect(forged.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    forged.destroy();
    // DescribeInvocations shows the same per instance, and the target on the invocation.
    const { body } = await client.describeInvocations(
      new Ecs.DescribeInvocationsRequest({ regionId: region, invokeId }),
    );
    const invocation = body?.invocations?.invocation?.[0];
    expect(invocation?.ossOutputDelivery).toBe('oss://openassist-out/runs/daily');
    expect(invocation?.invokeInstances?.invokeInstance?.[0]).toMatchObject({
      ossOutputStatus: 'Finished',
      ossOutputUri: `oss://${bucket}/${key}`,
    });
  });

  it('streams a 20 MiB output in parts, byte-exact', async () => {
    const n = 2_760_328; // seq 1 n prints exactly 20 MiB
    const expected = seqOutput(n);
    expect(expected.length).toBe(20 * 1024 * 1024);
    const invokeId = await run(`seq 1 ${n}`, `oss://${bucket}`);
    const result = await finishedResult(client, invokeId, 120_000);
    expect([result.invocationStatus, result.dropped]).toEqual(['Success', expect.any(Number)]);
    const row = await delivered(invokeId, 60_000);
    expect(row.ossOutputStatus).toBe('Finished');
    const key = `${invokeId}/${instanceId}.log`;
    // In parts: a multipart upload of three (8 MiB each at most), not one 20 MiB request.
    const partPuts = storage.requests.filter(
      (line) => line.startsWith(`PUT /${bucket}/${key}?`) && line.includes('partNumber='),
    );
    expect(partPuts).toHaveLength(3);
    // Signed plain bodies: no aws-chunked framing (STREAMING-…) that a store could keep as bytes.
    expect(storage.payloadHashes.filter((hash) => hash.startsWith('STREAMING-'))).toEqual([]);
    const object = await objectBytes(key);
    expect(object.length).toBe(expected.length);
    expect(object.equals(expected)).toBe(true);
  }, 240_000);

  it("would catch the aws-chunked trap: a default client's streamed upload reads back with its framing", async () => {
    // The S3 client's defaults (streamed checksums) frame the body; this store keeps the frames.
    const framing = new S3Client({
      endpoint: storage.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: storage.accessKeyId, secretAccessKey: storage.accessKeySecret },
    });
    const body = Buffer.from('exact bytes\n');
    await framing.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'trap.log',
        Body: Readable.from([body]),
        ContentLength: body.length,
      }),
    );
    framing.destroy();
    expect(storage.payloadHashes.at(-1)).toMatch(/^STREAMING-/);
    expect((await objectBytes('trap.log')).equals(body)).toBe(false);
  });

  it('leaves runs without OssOutputDelivery alone, and refuses a malformed one', async () => {
    const invokeId = await run('echo plain');
    const row = await finishedResult(client, invokeId);
    expect(row.ossOutputStatus).toBeUndefined();
    expect(row.ossOutputUri).toBeUndefined();
    for (const bad of [
      's3://openassist-out/x',
      'oss://',
      'oss://UPPER/x',
      'oss://openassist-out//x',
      'oss://openassist-out/../x',
    ])
      await expectApiError(run('echo no', bad), 'InvalidParameter.OssOutputDelivery', 400);
  });

  it("delivers to the region's OssDeliveryConfig when the invocation names no OssOutputDelivery", async () => {
    const setDefault = (config: Record<string, unknown>) =>
      client.modifyCloudAssistantSettings(
        new Ecs.ModifyCloudAssistantSettingsRequest({
          regionId: region,
          settingType: 'InvocationDelivery',
          ossDeliveryConfig: new Ecs.ModifyCloudAssistantSettingsRequestOssDeliveryConfig(config),
        }),
      );
    await setDefault({ enabled: true, bucketName: bucket, prefix: 'by-default' });
    try {
      const invokeId = await run('echo by default');
      const row = await delivered(invokeId);
      expect(row).toMatchObject({
        ossOutputStatus: 'Finished',
        ossOutputDelivery: `oss://${bucket}/by-default`,
        ossOutputUri: `oss://${bucket}/by-default/${invokeId}/${instanceId}.log`,
      });
      expect((await objectBytes(`by-default/${invokeId}/${instanceId}.log`)).toString()).toBe('by default\n');
      // The invocation's own target wins over the default.
      const own = await run('echo own', `oss://${bucket}/own`);
      expect((await delivered(own)).ossOutputUri).toBe(`oss://${bucket}/own/${own}/${instanceId}.log`);
    } finally {
      await setDefault({ enabled: false });
    }
  });

  it('names each run of a schedule InvokeId/InstanceId/N.log', async () => {
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'echo tick',
        contentEncoding: 'PlainText',
        instanceId: [instanceId],
        frequency: '0/10 * * * * ?',
        timeout: 10,
        ossOutputDelivery: `oss://${bucket}/cron`,
      }),
    );
    const invokeId = body?.invokeId ?? '';
    try {
      const runs = await waitFor(
        'two runs of the schedule delivered',
        async () => {
          const rows = await invocationResults(client, invokeId, true);
          const done = rows.filter((row) => row.ossOutputStatus === 'Finished');
          return done.length >= 2 ? done : undefined;
        },
        40_000,
      );
      for (const row of runs) {
        const key = `cron/${invokeId}/${instanceId}/${row.repeats}.log`;
        expect(row.ossOutputUri).toBe(`oss://${bucket}/${key}`);
        expect((await objectBytes(key)).toString()).toBe('tick\n');
      }
    } finally {
      await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
    }
  }, 60_000);

  it('with the bucket down for 30 s, the run ends on time and its output lands once it is back', async () => {
    await storage.stop();
    try {
      const startedAt = Date.now();
      const invokeId = await run('echo while the bucket is down', `oss://${bucket}/outage`);
      expect((await finishedResult(client, invokeId, 10_000)).invocationStatus).toBe('Success');
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      // Attempts fail and are retried, the run unchanged; it stays Pending (never Failed) for the 30 s.
      const failing = await waitFor('a failed attempt', async () => {
        const [row] = await invocationResults(client, invokeId);
        return row?.ossOutputErrorCode ? row : undefined;
      });
      expect(failing).toMatchObject({
        invocationStatus: 'Success',
        ossOutputStatus: 'Pending',
        ossOutputErrorCode: 'ConnectionFailed',
      });
      const outageEnd = startedAt + 30_000;
      await waitFor(
        'the 30 s outage to pass, the upload pending throughout',
        async () => {
          const [row] = await invocationResults(client, invokeId);
          expect(['Pending', 'Uploading']).toContain(row?.ossOutputStatus);
          return Date.now() >= outageEnd ? true : undefined;
        },
        40_000,
      );
      await storage.start();
      const row = await delivered(invokeId, 45_000);
      expect(row).toMatchObject({
        ossOutputStatus: 'Finished',
        ossOutputErrorCode: '',
        ossOutputErrorInfo: '',
      });
      expect((await objectBytes(`outage/${invokeId}/${instanceId}.log`)).toString()).toBe(
        'echo while the bucket is down\n'.slice(5),
      );
    } finally {
      await storage.start();
    }
  }, 150_000);
});
