import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawOptions, rawResponse, type Transport, v1Raw, v3Raw } from '../../test/helpers/raw-client.js';
import { wireServices } from '../server.js';
import { SecretBox } from '../service/secret-box.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { buildHttpServer } from './http-server.js';
import { maxQueryBytes } from './rpc.js';

/**
 * The RPC layer (parse, authenticate, route, render) in-process: requests go through Fastify's
 * inject, not a socket, against an in-memory SQLite store. No agent is connected.
 */
describe('the RPC endpoint, in-process', () => {
  let store: Store;
  let app: FastifyInstance;
  let base: RawOptions;

  /** Fastify's inject as the raw client's transport. */
  const inject: Transport = async (url, init) => {
    const target = new URL(url);
    const response = await app.inject({
      method: (init.method ?? 'GET') as 'GET' | 'POST' | 'PUT',
      url: `${target.pathname}${target.search}`,
      headers: { host: target.host, ...(init.headers as Record<string, string>) },
      ...(init.body !== undefined && { payload: init.body as string | Buffer }),
    });
    return rawResponse(response.statusCode, String(response.headers['content-type'] ?? ''), response.body);
  };

  beforeAll(async () => {
    store = openSqliteStore(':memory:');
    const logger = pino({ level: 'silent' });
    const { services } = wireServices(
      store,
      logger,
      Date.now,
      {
        heartbeatSeconds: 20,
        outputCapBytes: 1024,
        regions: ['cn-hangzhou'],
        dailyInvocationQuota: 10,
        nodeId: 'n1',
      },
      new SecretBox(randomBytes(32)),
    );
    const key = { id: 'LTAIunitroot', secret: randomBytes(15).toString('hex') };
    await store.accessKeys.insert({ ...key, status: 'Active', description: 'root', createdAtMs: Date.now() });
    app = await buildHttpServer({ store, services, logger, nowMs: Date.now, version: '0.0.0-test' });
    base = { url: 'http://api.test:8080', accessKeyId: key.id, accessKeySecret: key.secret, send: inject };
  });

  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it('creates a command and describes it, signed V3 in the query and V1 in a form body', async () => {
    const created = await v3Raw({
      ...base,
      action: 'CreateCommand',
      params: {
        RegionId: 'cn-hangzhou',
        Name: 'unit',
        Type: 'RunShellScript',
        CommandContent: 'ZWNobyBoaQ==',
      },
    });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({
      CommandId: expect.stringMatching(/^c-/),
      RequestId: expect.any(String),
    });
    const described = await v1Raw({
      ...base,
      inBody: true,
      action: 'DescribeCommands',
      params: { RegionId: 'cn-hangzhou', CommandId: String(created.json.CommandId) },
    });
    expect(described.status).toBe(200);
    expect(described.json).toMatchObject({ TotalCount: 1, Commands: { Command: [{ Name: 'unit' }] } });
  });

  it('answers a V1 request without Format in XML, naming the Host the client addressed', async () => {
    const response = await v1Raw({ ...base, action: 'NoSuchAction', omit: ['Format'] });
    expect(response.status).toBe(404);
    expect(response.contentType).toMatch(/xml/);
    expect(response.text).toContain('<Code>InvalidAction.NotFound</Code>');
    expect(response.text).toContain('<HostId>api.test:8080</HostId>');
  });

  it.each([
    [
      'a near miss of an action name',
      { action: 'DescribeCommand' },
      404,
      'InvalidAction.NotFound',
      /Did you mean DescribeCommands/,
    ],
    [
      'an unserved region',
      { action: 'DescribeCommands', params: { RegionId: 'mars-1' } },
      400,
      'RegionId.ApiNotSupported',
      /cn-hangzhou/,
    ],
    [
      'Action and x-acs-action disagreeing',
      { action: 'DescribeCommands', params: { Action: 'DescribeRegions' } },
      400,
      'InvalidParameter',
      /disagree/,
    ],
    ['an unknown key', { accessKeyId: 'LTAInobody' }, 404, 'InvalidAccessKeyId.NotFound', /./],
    ['a wrong secret', { accessKeySecret: 'not-the-secret' }, 400, 'SignatureDoesNotMatch', /./],
    [
      'an oversized query',
      { rawQuery: `a=${'x'.repeat(maxQueryBytes)}` },
      413,
      'RequestTooLarge',
      /query string/,
    ],
    ['an unsupported method', { method: 'PUT' }, 403, 'UnsupportedHTTPMethod', /./],
  ] as const)('refuses %s with its code and status', async (_what, change, status, code, message) => {
    const response = await v3Raw({ ...base, ...change });
    expect({ status: response.status, code: response.json.Code }).toEqual({ status, code });
    expect(String(response.json.Message)).toMatch(message);
  });

  it('refuses a body that is not a form, or not UTF-8, before it is read as parameters', async () => {
    const notForm = await v3Raw({
      ...base,
      inBody: true,
      params: { RegionId: 'cn-hangzhou' },
      extraHeaders: { 'content-type': 'application/json' },
    });
    expect({ status: notForm.status, code: notForm.json.Code }).toEqual({
      status: 400,
      code: 'InvalidParameter',
    });
    const response = await app.inject({
      method: 'POST',
      url: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: Buffer.from([0x41, 0x3d, 0xff, 0xfe]),
    });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({
      Code: 'InvalidParameter',
      Message: expect.stringContaining('The request body is not UTF-8.'),
    });
  });
});
