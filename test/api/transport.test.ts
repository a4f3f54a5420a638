import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import * as OpenApi from '@alicloud/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelPath, registerPath } from '../../src/protocol/messages.js';
import { nowStamp, type RawOptions, v1Raw, v3Raw } from '../helpers/raw-client.js';
import { Ecs, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
let base: RawOptions;

beforeAll(async () => {
  server = await startServerProcess();
  base = { url: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
});

afterAll(async () => {
  expect(await server?.stop()).toBe(0);
});

const describeCommands = { action: 'DescribeCommands', params: { RegionId: 'cn-hangzhou' } };

describe('the RPC transport', () => {
  it('serves POST and GET, with parameters in the query or in a form body', async () => {
    expect((await v3Raw({ ...base, ...describeCommands })).status).toBe(200);
    expect((await v3Raw({ ...base, ...describeCommands, method: 'GET' })).status).toBe(200);
    expect((await v3Raw({ ...base, ...describeCommands, inBody: true })).status).toBe(200);
    expect((await v1Raw({ ...base, ...describeCommands, inBody: true })).status).toBe(200);
    const created = await v1Raw({
      ...base,
      action: 'CreateCommand',
      inBody: true,
      params: { RegionId: 'cn-hangzhou', Name: 'form', Type: 'RunShellScript', CommandContent: 'ZWNobw==' },
    });
    expect(created.json.CommandId).toMatch(/^c-/);
  });

  it('answers JSON by default and XML for Format=XML in any case, errors included', async () => {
    const json = await v3Raw({ ...base, ...describeCommands });
    expect(json.contentType).toMatch(/^application\/json/);
    expect(json.json).toMatchObject({ RequestId: expect.any(String), TotalCount: expect.any(Number) });

    const xml = await v3Raw({ ...base, action: 'DescribeRegions', params: { Format: 'xml' } });
    // Exactly what Alibaba's gateway sends: the client cores compare the header with this text.
    expect(xml.contentType).toBe('text/xml;charset=utf-8');
    expect(xml.text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?><DescribeRegionsResponse><RequestId>[0-9A-F-]{36}<\/RequestId><Regions><Region><RegionId>cn-hangzhou<\/RegionId>/,
    );

    const error = await v3Raw({ ...base, action: 'DescribeCommands', params: { Format: 'XML' } });
    expect(error.status).toBe(400);
    expect(error.text).toContain('<Error><RequestId>');
    expect(error.text).toContain('<Code>MissingParameter</Code>');
    expect(error.contentType).toBe('text/xml;charset=utf-8');
  });

  it('gives the official SDK (V3) asking for XML the error code of an XML error body', async () => {
    const xmlClient = new Ecs.default(
      new OpenApi.$OpenApiUtil.Config({
        endpoint: server.endpoint,
        protocol: 'http',
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
        regionId: 'cn-hangzhou',
        globalParameters: new OpenApi.$OpenApiUtil.GlobalParameters({ queries: { Format: 'XML' } }),
      }),
    );
    const body = await expectApiError(
      xmlClient.deleteCommand(new Ecs.DeleteCommandRequest({ regionId: 'cn-hangzhou', commandId: 'c-none' })),
      'InvalidCmdId.NotFound',
      404,
    );
    expect(body.RequestId).toMatch(/^[0-9A-F-]{36}$/);
  });

  it('answers a V1 request without Format in XML (the RPC default), and JSON when it asks', async () => {
    const xml = await v1Raw({ ...base, omit: ['Format'] });
    expect([xml.status, xml.contentType]).toEqual([200, 'text/xml;charset=utf-8']);
    expect(xml.text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><DescribeRegionsResponse>/);
    const xmlError = await v1Raw({ ...base, action: 'DescribeCommands', omit: ['Format'] });
    expect([xmlError.status, xmlError.contentType]).toEqual([400, 'text/xml;charset=utf-8']);
    expect(xmlError.text).toContain('<Code>MissingParameter</Code>');
    const forged = await v1Raw({ ...base, accessKeySecret: 'wrong', omit: ['Format'] });
    expect([forged.status, forged.contentType]).toEqual([400, 'text/xml;charset=utf-8']);
    expect(forged.text).toContain('<Code>SignatureDoesNotMatch</Code>');

    const json = await v1Raw({ ...base, params: { Format: 'json' } });
    expect([json.status, json.contentType]).toEqual([200, 'application/json; charset=utf-8']);
    expect(json.json.Regions).toBeDefined();
    // A V3 request keeps JSON by default, and so does the official SDK on either signature.
    const v3 = await v3Raw({ ...base });
    expect(v3.contentType).toBe('application/json; charset=utf-8');
    for (const signature of ['v3', 'v1'] as const) {
      const sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret, signature);
      const { body } = await sdk.describeRegions(new Ecs.DescribeRegionsRequest({}));
      expect(body?.regions?.region?.[0]?.regionId, signature).toBe('cn-hangzhou');
    }
  });

  it('refuses an unknown action, a wrong version and other HTTP methods', async () => {
    const unknown = await v3Raw({ ...base, action: 'LaunchRockets' });
    expect([unknown.status, unknown.json.Code]).toEqual([404, 'InvalidAction.NotFound']);
    const version = await v3Raw({ ...base, extraHeaders: { 'x-acs-version': '2099-01-01' } });
    expect([version.status, version.json.Code]).toEqual([400, 'InvalidVersion']);
    const put = await v3Raw({ ...base, method: 'PUT' });
    expect([put.status, put.json.Code]).toEqual([403, 'UnsupportedHTTPMethod']);
    const path = await fetch(`${server.url}/nowhere`);
    expect([path.status, ((await path.json()) as { Code: string }).Code]).toEqual([
      404,
      'InvalidAction.NotFound',
    ]);
  });

  it('answers /health', async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', database: 'sqlite' });
  });
});

describe('authentication', () => {
  it('refuses a replayed nonce, for V3 and V1', async () => {
    const nonce = randomBytes(32).toString('hex');
    expect((await v3Raw({ ...base, nonce })).status).toBe(200);
    const replay = await v3Raw({ ...base, nonce });
    expect([replay.status, replay.json.Code]).toEqual([400, 'SignatureNonceUsed']);

    const v1Nonce = randomBytes(16).toString('hex');
    expect((await v1Raw({ ...base, nonce: v1Nonce })).status).toBe(200);
    const v1Replay = await v1Raw({ ...base, nonce: v1Nonce });
    expect([v1Replay.status, v1Replay.json.Code]).toEqual([400, 'SignatureNonceUsed']);
  });

  it('binds the action of a V1 request: Action and Version must be signed parameters, x-acs-* headers are ignored', async () => {
    const headers = { 'x-acs-action': 'CreateCommand', 'x-acs-version': '2014-05-26' };
    const noAction = await v1Raw({
      ...base,
      omit: ['Action', 'Version'],
      extraHeaders: headers,
      params: {
        RegionId: 'cn-hangzhou',
        Name: 'unsigned',
        Type: 'RunShellScript',
        CommandContent: 'ZWNobw==',
      },
    });
    expect([noAction.status, noAction.json.Code]).toEqual([400, 'MissingParameter']);
    expect(noAction.json.Message).toContain('"Action"');
    const noVersion = await v1Raw({ ...base, omit: ['Version'], extraHeaders: headers });
    expect([noVersion.status, noVersion.json.Code]).toEqual([400, 'MissingParameter']);
    expect(noVersion.json.Message).toContain('"Version"');
    // The signed Action is what runs; an unsigned header naming another action changes nothing.
    const described = await v1Raw({ ...base, extraHeaders: headers });
    expect(described.status).toBe(200);
    expect(described.json.Regions).toBeDefined();
    const commands = await v3Raw({
      ...base,
      ...describeCommands,
      params: { ...describeCommands.params, Name: 'unsigned' },
    });
    expect(commands.json.TotalCount).toBe(0);
  });

  it('does not burn a nonce on a forged request', async () => {
    const nonce = randomBytes(32).toString('hex');
    const forged = await v3Raw({ ...base, accessKeySecret: 'wrong', nonce });
    expect(forged.json.Code).toBe('SignatureDoesNotMatch');
    expect((await v3Raw({ ...base, nonce })).status).toBe(200);
  });

  it('refuses request times more than 15 minutes away, and malformed times', async () => {
    for (const date of [nowStamp(-16 * 60_000), nowStamp(16 * 60_000)]) {
      const response = await v3Raw({ ...base, date });
      expect([response.status, response.json.Code]).toEqual([400, 'InvalidTimeStamp.Expired']);
      expect((await v1Raw({ ...base, date })).json.Code).toBe('InvalidTimeStamp.Expired');
    }
    expect((await v3Raw({ ...base, date: nowStamp(-14 * 60_000) })).status).toBe(200);
    const malformed = await v3Raw({ ...base, date: 'yesterday' });
    expect([malformed.status, malformed.json.Code]).toEqual([400, 'InvalidTimeStamp.Format']);
  });

  it('refuses unsigned and half-signed requests', async () => {
    const unsigned = await fetch(`${server.url}/?Action=DescribeRegions&Version=2014-05-26`, {
      method: 'POST',
    });
    expect([unsigned.status, ((await unsigned.json()) as { Code: string }).Code]).toEqual([
      400,
      'IncompleteSignature',
    ]);
    const unsignedAction = await v3Raw({ ...base, unsigned: ['x-acs-action'] });
    expect([unsignedAction.status, unsignedAction.json.Code]).toEqual([400, 'IncompleteSignature']);
    const badAlgorithm = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { authorization: 'ACS3-HMAC-SM3 Credential=x,SignedHeaders=host,Signature=y' },
    });
    expect(((await badAlgorithm.json()) as { Code: string }).Code).toBe('IncompleteSignature');
    const v1WithoutMethod = await v1Raw({ ...base, params: { SignatureMethod: '' } });
    expect(v1WithoutMethod.json.Code).toBe('IncompleteSignature');
  });

  it('refuses a body that does not match its signed hash, and a tampered query', async () => {
    const tamperedBody = await v3Raw({
      ...base,
      extraHeaders: { 'x-acs-content-sha256': 'f'.repeat(64) },
    });
    expect([tamperedBody.status, tamperedBody.json.Code]).toEqual([400, 'SignatureDoesNotMatch']);
    const tamperedQuery = await v3Raw({ ...base, ...describeCommands, rawQuery: 'RegionId=cn-shanghai' });
    expect(tamperedQuery.json.Code).toBe('SignatureDoesNotMatch');
  });

  it('accepts the SDK habit of leaving * unescaped in the URL (the signature covers the canonical form)', async () => {
    const response = await v3Raw({
      ...base,
      action: 'DescribeCommands',
      params: { RegionId: 'cn-hangzhou', Name: 'a*b' },
      rawQuery: 'Name=a*b&RegionId=cn-hangzhou',
    });
    expect(response.status).toBe(200);
  });
});

describe('malformed requests get a clean 4xx, never a 500', () => {
  it('refuses bad percent-encoding, non-UTF-8 bytes and duplicate keys', async () => {
    for (const rawQuery of ['RegionId=%E0%A4%A', 'RegionId=%FF%FE', 'RegionId=a&RegionId=b', '=x']) {
      const response = await v3Raw({ ...base, ...describeCommands, rawQuery });
      expect([response.status, response.json.Code], rawQuery).toEqual([400, 'InvalidParameter']);
    }
  });

  it('refuses a list index 0 and an index past the limit', async () => {
    const zero = await v3Raw({
      ...base,
      action: 'DescribeCommands',
      params: { RegionId: 'cn-hangzhou', 'Tag.0.Key': 'a' },
    });
    expect([zero.status, zero.json.Code]).toEqual([400, 'InvalidParameter']);
    const past = await v3Raw({
      ...base,
      action: 'DescribeCommands',
      params: { RegionId: 'cn-hangzhou', 'Tag.21.Key': 'a' },
    });
    expect([past.status, past.json.Code]).toEqual([400, 'NumberExceed.Tags']);
  });

  it('refuses numbers and booleans that are not', async () => {
    const create = (extra: Record<string, string>) =>
      v3Raw({
        ...base,
        action: 'CreateCommand',
        params: {
          RegionId: 'cn-hangzhou',
          Name: 'n',
          Type: 'RunShellScript',
          CommandContent: 'ZWNobw==',
          ...extra,
        },
      });
    expect((await create({ Timeout: '60s' })).json.Code).toBe('InvalidParameter.Timeout');
    expect((await create({ Timeout: '1e3' })).json.Code).toBe('InvalidParameter.Timeout');
    expect((await create({ EnableParameter: 'yes' })).json.Code).toBe('InvalidParameter');
    const page = await v3Raw({
      ...base,
      action: 'DescribeCommands',
      params: { RegionId: 'cn-hangzhou', PageSize: 'ten' },
    });
    expect(page.json.Code).toBe('InvalidParam.PageSize');
  });

  it('refuses a body that is not a form', async () => {
    const response = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"Action":"DescribeRegions"}',
    });
    expect([response.status, ((await response.json()) as { Code: string }).Code]).toEqual([
      400,
      'InvalidParameter',
    ]);
  });

  it('refuses oversized queries, headers and bodies with 413 and a JSON body', async () => {
    const bigQuery = await v3Raw({
      ...base,
      ...describeCommands,
      rawQuery: `RegionId=${'a'.repeat(200_000)}`,
    });
    expect([bigQuery.status, bigQuery.json.Code]).toEqual([413, 'RequestTooLarge']);
    const hugeUrl = await fetch(`${server.url}/?x=${'a'.repeat(300_000)}`, { method: 'POST' });
    expect([hugeUrl.status, ((await hugeUrl.json()) as { Code: string }).Code]).toEqual([
      413,
      'RequestTooLarge',
    ]);
    const bigBody = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `Name=${'a'.repeat(300_000)}`,
    });
    expect([bigBody.status, ((await bigBody.json()) as { Code: string }).Code]).toEqual([
      413,
      'RequestTooLarge',
    ]);
  });

  it('accepts a script at the 24 KB limit sent in the query string, as the SDK sends it', async () => {
    const content = Buffer.from('#'.repeat(18_000)).toString('base64');
    const response = await v3Raw({
      ...base,
      action: 'CreateCommand',
      params: { RegionId: 'cn-hangzhou', Name: 'big', Type: 'RunShellScript', CommandContent: content },
    });
    expect(response.status).toBe(200);
  });

  it('keeps serving after all of the above', async () => {
    expect((await v3Raw({ ...base })).status).toBe(200);
    expect(server.stderr()).not.toMatch(/"level":50/);
  });
});

/** A WebSocket upgrade of the agent channel with a wrong token: the refusal's status and body. */
function refusedUpgrade(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const upgrade = httpRequest(new URL(channelPath, url), {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'x-openassist-instance-id': 'mi-0123456789abcdef0123456789abcdef',
        authorization: 'Bearer wrong',
      },
    });
    upgrade.on('upgrade', () => reject(new Error('a wrong token opened the channel')));
    upgrade.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    upgrade.on('error', reject);
    upgrade.end();
  });
}

describe('one error body on every path', () => {
  const fields = ['RequestId', 'HostId', 'Code', 'Message', 'Recommend'];

  it('answers an action, an unknown path, a large body, an agent route and a refused upgrade alike, HostId naming the Host addressed', async () => {
    const host = new URL(server.url).host;
    const action = (await v3Raw({ ...base, action: 'LaunchRockets' })).json;
    const path = await (await fetch(`${server.url}/nowhere`)).json();
    const body = await (
      await fetch(`${server.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `Name=${'a'.repeat(300_000)}`,
      })
    ).json();
    const register = await (
      await fetch(`${server.url}${registerPath}`, { method: 'POST', body: '{}' })
    ).json();
    const refused = await refusedUpgrade(server.url);
    expect(refused.status).toBe(401);
    const answers = { action, path, body, register, upgrade: JSON.parse(refused.body) as unknown };
    const shapes = Object.fromEntries(
      Object.entries(answers).map(([name, answer]) => {
        const record = answer as Record<string, unknown>;
        return [name, { fields: Object.keys(record), HostId: record.HostId, Code: record.Code }];
      }),
    );
    expect(shapes).toEqual({
      action: { fields, HostId: host, Code: 'InvalidAction.NotFound' },
      path: { fields, HostId: host, Code: 'InvalidAction.NotFound' },
      body: { fields, HostId: host, Code: 'RequestTooLarge' },
      register: { fields, HostId: host, Code: 'MissingParameter' },
      upgrade: { fields, HostId: host, Code: 'InvalidToken.Agent' },
    });
    const requestIds = Object.values(answers).map((answer) => (answer as { RequestId: string }).RequestId);
    expect(new Set(requestIds).size).toBe(requestIds.length);
  });

  it('answers a V1 request without Format in XML with the same fields, and a refusal before routing in JSON', async () => {
    const v1 = await v1Raw({ ...base, action: 'LaunchRockets', omit: ['Format'] });
    expect([v1.status, v1.contentType]).toEqual([404, 'text/xml;charset=utf-8']);
    const elements = [...v1.text.matchAll(/<(\w+)>/g)].map((match) => match[1]);
    expect(elements).toEqual(['Error', ...fields]);
    expect(v1.text).toContain(`<HostId>${new URL(server.url).host}</HostId>`);

    // Node refuses oversized headers before any request exists: no Host was read, so HostId names the server.
    const headers = await fetch(`${server.url}/?x=${'a'.repeat(300_000)}`, { method: 'POST' });
    expect(headers.status).toBe(413);
    const record = (await headers.json()) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual(fields);
    expect([record.HostId, record.Code]).toEqual(['openassist', 'RequestTooLarge']);
  });
});
