import { createRequire } from 'node:module';
import * as OpenApi from '@alicloud/openapi-core';
import { expect } from 'vitest';
import { waitFor } from './deadline.js';

// Loaded with require: the SDK is CommonJS, and this gives the same module object in Node and in Vitest.
const Ecs = createRequire(import.meta.url)('@alicloud/ecs20140526') as typeof import('@alicloud/ecs20140526');

export { Ecs };
export type EcsClient = InstanceType<typeof Ecs.default>;

/** The official SDK pointed at our server: V3 signatures by default, V1 with `signature: 'v1'`. */
export function ecsClient(
  endpoint: string,
  accessKeyId: string,
  accessKeySecret: string,
  signature: 'v3' | 'v1' = 'v3',
): EcsClient {
  return new Ecs.default(
    new OpenApi.$OpenApiUtil.Config({
      endpoint,
      protocol: 'http',
      accessKeyId,
      accessKeySecret,
      regionId: 'cn-hangzhou',
      ...(signature === 'v1' && { signatureAlgorithm: 'v2' }),
    }),
  );
}

/** The official SDK on an https:// server whose certificate `ca` (PEM) vouches for. */
export function ecsHttpsClient(
  endpoint: string,
  ca: string,
  accessKeyId: string,
  accessKeySecret: string,
): EcsClient {
  return new Ecs.default(
    new OpenApi.$OpenApiUtil.Config({
      endpoint,
      protocol: 'https',
      ca,
      accessKeyId,
      accessKeySecret,
      regionId: 'cn-hangzhou',
    }),
  );
}

/** Awaits a call that must fail with an Alibaba error; checks Code and HTTP status, returns the error body. */
export async function expectApiError(
  call: Promise<unknown>,
  code: string,
  statusCode: number,
): Promise<Record<string, unknown>> {
  const error = (await call.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  )) as { code?: string; statusCode?: number; data?: Record<string, unknown>; message?: string };
  expect({ code: error.code, statusCode: error.statusCode }, error.message).toEqual({ code, statusCode });
  return error.data ?? {};
}

/** The per-instance results of an invocation (one page of 50, plain-text output). */
export async function invocationResults(client: EcsClient, invokeId: string, includeHistory = false) {
  const { body } = await client.describeInvocationResults(
    new Ecs.DescribeInvocationResultsRequest({
      regionId: 'cn-hangzhou',
      invokeId,
      includeHistory,
      contentEncoding: 'PlainText',
      pageSize: 50,
    }),
  );
  return body?.invocation?.invocationResults?.invocationResult ?? [];
}

const unfinished = ['Pending', 'Running', 'Scheduled', 'Stopping'];

/** The first result of a one-instance invocation once it has ended (polled until `timeoutMs`). */
export function finishedResult(client: EcsClient, invokeId: string, timeoutMs = 30_000) {
  return waitFor(
    `${invokeId} to finish`,
    async () => {
      const [row] = await invocationResults(client, invokeId);
      return row && !unfinished.includes(row.invocationStatus ?? '') ? row : undefined;
    },
    timeoutMs,
  );
}
