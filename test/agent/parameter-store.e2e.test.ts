import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { type RawOptions, v3Raw } from '../helpers/raw-client.js';
import { Ecs, type EcsClient, expectApiError } from '../helpers/sdk.js';
import type { ServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const secret = `s3cret-${Date.now().toString(36)}-value`;
let fleet: Fleet;
let server: ServerProcess;
let client: EcsClient;
let base: RawOptions;
let agent: AgentProcess;

/** OOS calls: the same signed endpoint, routed by Version 2019-06-01. */
const oos = (action: string, params: Record<string, string>) =>
  v3Raw({ ...base, action, params, extraHeaders: { 'x-acs-version': '2019-06-01' } });

beforeAll(async () => {
  fleet = await startFleet({ OPENASSIST_LOG_LEVEL: 'debug' });
  ({ server, client, agent } = fleet);
  base = { url: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
});

afterAll(async () => {
  await fleet?.stop();
});

describe('the Parameter Store (OOS 2019-06-01 on the same endpoint)', () => {
  it('creates, reads, updates, lists and deletes plain and secret parameters', async () => {
    expect((await oos('CreateParameter', { Name: 'app.user', Type: 'String', Value: 'admin' })).status).toBe(
      200,
    );
    const plain = await oos('GetParameter', { Name: 'app.user' });
    expect(plain.json.Parameter).toMatchObject({
      Name: 'app.user',
      Type: 'String',
      Value: 'admin',
      ParameterVersion: 1,
    });

    const created = await oos('CreateSecretParameter', { Name: 'app.password', Value: secret });
    expect(created.json.Parameter).toMatchObject({ Name: 'app.password', Type: 'Secret' });
    expect(created.text).not.toContain(secret);
    const hidden = await oos('GetSecretParameter', { Name: 'app.password' });
    expect((hidden.json.Parameter as { Value: string }).Value).toBe('');
    const shown = await oos('GetSecretParameter', { Name: 'app.password', WithDecryption: 'true' });
    expect((shown.json.Parameter as { Value: string }).Value).toBe(secret);

    const updated = await oos('UpdateParameter', { Name: 'app.user', Value: 'root' });
    expect((updated.json.Parameter as { ParameterVersion: number }).ParameterVersion).toBe(2);
    const many = await oos('GetParameters', { Names: JSON.stringify(['app.user', 'nope']) });
    expect(many.json).toMatchObject({
      Parameters: [{ Name: 'app.user', Value: 'root' }],
      InvalidParameters: ['nope'],
    });
    const listed = await oos('ListSecretParameters', { Name: 'app' });
    expect(listed.json).toMatchObject({ TotalCount: 1, Parameters: [{ Name: 'app.password' }] });
    expect(listed.text).not.toContain(secret);

    await oos('CreateParameter', { Name: 'temp', Type: 'String', Value: 'x' });
    expect((await oos('DeleteParameter', { Name: 'temp' })).status).toBe(200);
    const gone = await oos('GetParameter', { Name: 'temp' });
    expect([gone.status, gone.json.Code]).toEqual([404, 'EntityNotExists.Parameter']);
  });

  it('refuses duplicates and malformed parameters', async () => {
    await oos('CreateParameter', { Name: 'dup', Type: 'String', Value: '1' });
    const dup = await oos('CreateParameter', { Name: 'dup', Type: 'String', Value: '2' });
    expect([dup.status, dup.json.Code]).toEqual([409, 'EntityAlreadyExists.Parameter']);
    for (const params of [
      { Name: 'oos-reserved', Type: 'String', Value: '1' },
      { Name: 'ok', Type: 'Number', Value: '1' },
      { Name: 'ok', Type: 'String', Value: 'v'.repeat(4097) },
    ]) {
      expect((await oos('CreateParameter', params)).json.Code).toBe('InvalidParameter');
    }
    expect((await oos('CreateParameter', { Name: 'ok', Type: 'String' })).json.Code).toBe('MissingParameter');
  });

  it('fills {{oos:…}} and {{oos-secret:…}} at delivery, and the secret is stored and logged nowhere', async () => {
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: "echo '{{oos:app.user}}' '{{ oos-secret:app.password }}' | sha256sum",
        instanceId: [agent.instanceId],
      }),
    );
    const invokeId = body?.invokeId ?? '';
    const output = await waitFor('the run to finish', async () => {
      const { body: results } = await client.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({
          regionId: region,
          invokeId,
          contentEncoding: 'PlainText',
        }),
      );
      const row = results?.invocation?.invocationResults?.invocationResult?.[0];
      return row?.invocationStatus === 'Success' ? row.output : undefined;
    });
    const { createHash } = await import('node:crypto');
    expect(output).toBe(`${createHash('sha256').update(`root ${secret}\n`).digest('hex')}  -\n`);

    const invocations = await client.describeInvocations(
      new Ecs.DescribeInvocationsRequest({
        regionId: region,
        invokeId,
        contentEncoding: 'PlainText',
        includeOutput: true,
      }),
    );
    const shown = JSON.stringify(invocations.body);
    expect(shown).toContain('{{ oos-secret:app.password }}');
    expect(shown).not.toContain(secret);
    expect(server.stderr()).not.toContain(secret);
    for (const file of await readdir(server.dataDir)) {
      if (!file.startsWith('openassist.db')) continue;
      expect((await readFile(join(server.dataDir, file))).includes(secret), file).toBe(false);
    }
  });

  it('refuses InvokeCommand when a reference names no parameter', async () => {
    await expectApiError(
      client.runCommand(
        new Ecs.RunCommandRequest({
          regionId: region,
          type: 'RunShellScript',
          commandContent: 'echo {{oos-secret:missing}}',
          instanceId: [agent.instanceId],
        }),
      ),
      'ParameterStore.InvalidParameters',
      403,
    );
  });
});
