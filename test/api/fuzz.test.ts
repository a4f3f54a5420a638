import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from '../../src/api/actions/index.js';
import { canonicalQuery, type SignedRequest } from '../../src/api/signature/signed-request.js';
import { v3Signature } from '../../src/api/signature/v3.js';
import { errorCatalogue } from '../../src/domain/errors.js';
import { type InProcessApi, startInProcessApi } from '../helpers/in-process-api.js';

const host = 'fuzz.local';
let api: InProcessApi;
let app: FastifyInstance;
let key: InProcessApi['key'];

beforeAll(async () => {
  api = await startInProcessApi('fuzz');
  ({ app, key } = api);
});

afterAll(async () => {
  await api?.close();
});

/** Every response is a known code with a 4xx status, or a success; never a 500. */
function expectCatalogued(status: number, body: string): void {
  if (status === 200) return;
  const parsed = JSON.parse(body) as { Code?: string; RequestId?: string };
  expect(Object.keys(errorCatalogue)).toContain(parsed.Code);
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
  expect(parsed.RequestId).toBeTruthy();
}

const wireNames = [
  'RegionId',
  'Name',
  'Type',
  'CommandContent',
  'ContentEncoding',
  'Description',
  'WorkingDir',
  'Timeout',
  'EnableParameter',
  'Launcher',
  'ClientToken',
  'CommandId',
  'PageNumber',
  'PageSize',
  'MaxResults',
  'NextToken',
  'Provider',
  'Latest',
  'ResourceGroupId',
  'AcceptLanguage',
  'InstanceId.0',
  'InstanceId.1',
  'Tag.1.Key',
  'Tag.1.Value',
  'Tag.0.Key',
  'Tag.21.Key',
  'Tag.99999999999999999999.Key',
  'Tag.01.Key',
  'Tag.1',
  'Format',
];

const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    'cn-hangzhou',
    'RunShellScript',
    'PlainText',
    'Base64',
    'true',
    '60',
    '-1',
    '0',
    '1e9',
    '',
    'ZWNobw==',
  ),
  fc.integer().map(String),
  fc.constantFrom('x'.repeat(70_000), '{{a}}'.repeat(30)),
);

const params = fc.dictionary(
  fc.oneof(fc.constantFrom(...wireNames), fc.string({ minLength: 1, maxLength: 12 })),
  value,
  {
    maxKeys: 12,
  },
);

function signedInject(action: string, query: Map<string, string>) {
  const headers: Record<string, string> = {
    host,
    'x-acs-action': action,
    'x-acs-version': '2014-05-26',
    'x-acs-date': `${new Date().toISOString().slice(0, 19)}Z`,
    'x-acs-signature-nonce': randomBytes(16).toString('hex'),
    'x-acs-content-sha256': createHash('sha256').update('').digest('hex'),
  };
  const signed = Object.keys(headers).sort();
  const request: SignedRequest = {
    method: 'POST',
    path: '/',
    query,
    params: query,
    headers,
    body: Buffer.alloc(0),
  };
  headers.authorization = `ACS3-HMAC-SHA256 Credential=${key.id},SignedHeaders=${signed.join(';')},Signature=${v3Signature(request, signed, key.secret)}`;
  return app.inject({ method: 'POST', url: `/?${canonicalQuery(query)}`, headers });
}

describe('property: no request produces a 500', () => {
  it('signed requests with arbitrary parameters get a success or a catalogued 4xx, for every action', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          // StreamInvocationEvents answers a valid region with a stream that never ends
          // (test/api/webhooks.e2e.test.ts follows it).
          ...[...actions.values()]
            .map((action) => action.name)
            .filter((name) => name !== 'StreamInvocationEvents'),
          'NoSuchAction',
        ),
        params,
        async (action, raw) => {
          const response = await signedInject(action, new Map(Object.entries(raw)));
          expectCatalogued(response.statusCode, response.body);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('arbitrary raw query strings, bodies and headers get a catalogued 4xx', async () => {
    const bytes = fc.uint8Array({ maxLength: 200 });
    const percentJunk = fc.stringMatching(/^[%a-zA-Z0-9=&+.]{0,80}$/);
    await fc.assert(
      fc.asyncProperty(
        percentJunk,
        bytes,
        fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', ''),
        fc.option(fc.string({ maxLength: 120 })),
        async (query, body, contentType, authorization) => {
          const headers: Record<string, string> = { host };
          if (contentType) headers['content-type'] = contentType;
          if (authorization !== null) headers.authorization = `ACS3-HMAC-SHA256 ${authorization}`;
          const response = await app.inject({
            method: 'POST',
            url: `/?${query}`,
            headers,
            ...(body.length > 0 && { payload: Buffer.from(body) }),
          });
          expectCatalogued(response.statusCode, response.body);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses non-UTF-8 bytes in the query and the body', async () => {
    const url = await app.inject({ method: 'POST', url: '/?RegionId=%C3%28', headers: { host } });
    expect(JSON.parse(url.body).Code).toBe('InvalidParameter');
    const body = await app.inject({
      method: 'POST',
      url: '/',
      headers: { host, 'content-type': 'application/x-www-form-urlencoded' },
      payload: Buffer.from([0x52, 0x3d, 0xc3, 0x28]),
    });
    expect(JSON.parse(body.body).Code).toBe('InvalidParameter');
  });

  it('refuses a 1 MB parameter cleanly', async () => {
    const response = await signedInject('CreateCommand', new Map([['Name', 'x'.repeat(1024 * 1024)]]));
    expect(response.statusCode).toBe(413);
  });
});
