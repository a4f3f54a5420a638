import { createRequire } from 'node:module';
import * as OpenApi from '@alicloud/openapi-core';
import type { ServerProcess } from '../test/helpers/server-process.js';

// The official SDK is CommonJS: loaded with require, as a user's Node program would.
export const Ecs = createRequire(import.meta.url)(
  '@alicloud/ecs20140526',
) as typeof import('@alicloud/ecs20140526');
export type EcsClient = InstanceType<typeof Ecs.default>;

/** The official SDK pointed at a server under test over HTTP, signing V3, in region cn-hangzhou. */
export function sdkOf(server: ServerProcess): EcsClient {
  return new Ecs.default(
    new OpenApi.$OpenApiUtil.Config({
      endpoint: server.endpoint,
      protocol: 'http',
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
      regionId: 'cn-hangzhou',
    }),
  );
}
