import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ApiCallError, invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type Backend, backendFactories } from '../helpers/backends.js';
import { cli } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/deadline.js';
import { v3Raw } from '../helpers/raw-client.js';
import { Ecs, type EcsClient, ecsClient, expectApiError, finishedResult } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { FrameSocket } from '../helpers/session-sockets.js';

const actionTrail = '2020-07-06';
const ram = '2015-05-01';
const oos = '2019-06-01';
const region = 'cn-hangzhou';

/** An event as LookupEvents answers it. */
interface TrailEvent {
  eventId: string;
  eventName: string;
  eventSource: string;
  eventRW: string;
  eventTime: string;
  requestId: string;
  serviceName: string;
  sourceIpAddress: string;
  userAgent: string;
  userIdentity: { type: string; principalId: string; accessKeyId: string; userName: string };
  requestParameters: Record<string, string>;
  resourceName: string;
  errorCode: string;
  errorMessage: string;
}

const lookup = (as: Credentials, params: Record<string, string | number> = {}) =>
  invoke<{ Events: TrailEvent[]; NextToken: string }>(as, 'LookupEvents', params, actionTrail);

/** Every record, every page. */
async function allEvents(as: Credentials, params: Record<string, string> = {}): Promise<TrailEvent[]> {
  const events: TrailEvent[] = [];
  let token = '';
  do {
    const page = await lookup(as, { ...params, MaxResults: 50, ...(token && { NextToken: token }) });
    events.push(...page.Events);
    token = page.NextToken;
  } while (token);
  return events;
}

for (const factory of backendFactories) {
  const available = await factory.available();
  describe.skipIf(!available)(`audit trail on ${factory.name}`, () => {
    let backend: Backend;
    let server: ServerProcess;
    let root: Credentials;
    let sdk: EcsClient;
    let agent: AgentProcess;
    let exportFile: string;
    let dataDir: string;
    /** Every secret value sent in this suite: none may appear in a record or the export. */
    const secrets: string[] = [];
    const keyCredentials = (key: { AccessKeyId: string; AccessKeySecret: string }): Credentials => ({
      endpoint: server.url,
      accessKeyId: key.AccessKeyId,
      accessKeySecret: key.AccessKeySecret,
    });
    const cliEnv = () => ({
      OPENASSIST_ENDPOINT: server.url,
      OPENASSIST_ACCESS_KEY_ID: server.accessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: server.accessKeySecret,
      OPENASSIST_REGION: region,
    });
    const once = async (requestId: string | undefined): Promise<TrailEvent> => {
      const matching = (await allEvents(root)).filter((event) => event.requestId === requestId);
      expect(matching).toHaveLength(1);
      return matching[0] as TrailEvent;
    };

    beforeAll(async () => {
      backend = factory.make();
      dataDir = await mkdtemp(join(tmpdir(), 'openassist-audit-e2e-'));
      exportFile = join(dataDir, 'audit.jsonl');
      server = await startServerProcess({
        dataDir,
        ...(backend.databaseUrl && { databaseUrl: backend.databaseUrl }),
        env: { OPENASSIST_AUDIT_LOG: exportFile },
      });
      root = {
        endpoint: server.url,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
      };
      secrets.push(server.accessKeySecret);
      sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
      const { body } = await sdk.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
      secrets.push(body?.activationCode ?? 'missing activation code');
      agent = await startAgentProcess({
        serverUrl: server.url,
        activationId: body?.activationId ?? '',
        activationCode: body?.activationCode ?? '',
      });
      const identity = JSON.parse(await readFile(join(agent.stateDir, 'identity.json'), 'utf8'));
      secrets.push(identity.token);
    });

    afterAll(async () => {
      await agent?.stop();
      await server?.stop();
      await backend?.dispose();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('records an ECS action once, with key, principal, source IP, resources and redacted parameters', async () => {
      const script = `echo audit-script-${randomBytes(6).toString('hex')} {{word}}`;
      const word = `param-${randomBytes(6).toString('hex')}`;
      secrets.push(script, Buffer.from(script).toString('base64'), word);
      const { body } = await sdk.runCommand(
        new Ecs.RunCommandRequest({
          regionId: region,
          type: 'RunShellScript',
          commandContent: script,
          enableParameter: true,
          parameters: { word },
          instanceId: [agent.instanceId],
        }),
      );
      await finishedResult(sdk, body?.invokeId ?? '');
      const event = await once(body?.requestId);
      expect(event).toMatchObject({
        eventName: 'RunCommand',
        eventSource: 'api',
        eventRW: 'Write',
        serviceName: 'ecs',
        sourceIpAddress: '127.0.0.1',
        errorCode: '',
        userIdentity: { type: 'root-account', principalId: 'root', accessKeyId: server.accessKeyId },
      });
      expect(event.resourceName.split(';')).toContain(agent.instanceId);
      expect(event.requestParameters.CommandContent).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      expect(Object.keys(JSON.parse(event.requestParameters.Parameters ?? '{}'))).toEqual(['word']);
      expect(event.requestParameters.Type).toBe('RunShellScript');
      expect(Date.parse(event.eventTime)).toBeGreaterThan(Date.now() - 120_000);
    });

    it('records a failed call with its error code, and a Windows password name only digested', async () => {
      const passwordName = `win-pass-${randomBytes(6).toString('hex')}`;
      secrets.push(passwordName);
      const failure = await expectApiError(
        sdk.invokeCommand(
          new Ecs.InvokeCommandRequest({
            regionId: region,
            commandId: 'c-0123456789abcdef0123456789abcdef',
            instanceId: [agent.instanceId],
            windowsPasswordName: passwordName,
          }),
        ),
        'InvalidCmdId.NotFound',
        404,
      );
      const events = await allEvents(root, {
        'LookupAttribute.1.Key': 'EventName',
        'LookupAttribute.1.Value': 'InvokeCommand',
      });
      const event = events.find((e) => e.errorCode === 'InvalidCmdId.NotFound');
      expect(event?.requestParameters.WindowsPasswordName).toMatch(/^hmac-sha256:/);
      expect(event?.resourceName).toContain('c-0123456789abcdef0123456789abcdef');
      expect(failure).toBeDefined();
    });

    it('records RAM and OOS actions; a new key is a ram-user, and its secret and a secret parameter value stay out', async () => {
      const created = await invoke<{
        RequestId: string;
        AccessKey: { AccessKeyId: string; AccessKeySecret: string };
      }>(root, 'CreateAccessKey', {}, ram);
      secrets.push(created.AccessKey.AccessKeySecret);
      expect((await once(created.RequestId)).serviceName).toBe('ram');
      const value = `secret-value-${randomBytes(6).toString('hex')}`;
      secrets.push(value);
      const parameter = await invoke<{ RequestId: string }>(
        root,
        'CreateSecretParameter',
        { RegionId: region, Name: `audit-${randomBytes(4).toString('hex')}`, Value: value },
        oos,
      );
      const event = await once(parameter.RequestId);
      expect(event.requestParameters.Value).toMatch(/^hmac-sha256:/);
      const asKey = keyCredentials(created.AccessKey);
      const described = await invoke<{ RequestId: string }>(asKey, 'DescribeInstances', { RegionId: region });
      expect((await once(described.RequestId)).userIdentity).toMatchObject({
        type: 'ram-user',
        accessKeyId: created.AccessKey.AccessKeyId,
      });
    });

    it('records a call whose signature fails, under the key id it claimed', async () => {
      const wrong = { ...root, accessKeySecret: 'not-the-secret' };
      const error = await invoke(wrong, 'DescribeInstances', { RegionId: region }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiCallError);
      const event = await once((error as ApiCallError).requestId);
      expect(event).toMatchObject({
        eventName: 'DescribeInstances',
        errorCode: 'SignatureDoesNotMatch',
        userIdentity: { type: 'anonymous', accessKeyId: server.accessKeyId },
      });
    });

    it('labels a call from the web console (a browser marks it same-origin)', async () => {
      const answer = await v3Raw({
        url: server.url,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
        action: 'DescribeRegions',
        params: { RegionId: region },
        extraHeaders: { 'sec-fetch-site': 'same-origin' },
        unsigned: ['sec-fetch-site'],
      });
      expect(answer.status).toBe(200);
      expect((await once(String(answer.json.RequestId))).eventSource).toBe('console');
    });

    it('answers the trail as well-formed XML whatever names a caller gave its parameters', async () => {
      const hostile = 'a><eventName>Forged</eventName><b';
      const sent = await v3Raw({
        url: server.url,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
        action: 'DescribeRegions',
        params: { RegionId: region, [hostile]: '<script>x</script>' },
      });
      const answer = await v3Raw({
        url: server.url,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
        action: 'LookupEvents',
        params: { Format: 'XML', MaxResults: '5' },
        extraHeaders: { 'x-acs-version': actionTrail },
      });
      expect(answer.status).toBe(200);
      expect(XMLValidator.validate(answer.text)).toBe(true);
      expect(answer.text).not.toContain('<eventName>Forged');
      expect(answer.text).toContain('&lt;script&gt;');
      const record = await once(String(sent.json.RequestId));
      expect(record.requestParameters.a__eventName_Forged__eventName__b).toBe('<script>x</script>');
    });

    it('records the agent registration once, by its activation, never its code', async () => {
      const events = await allEvents(root, {
        'LookupAttribute.1.Key': 'ResourceName',
        'LookupAttribute.1.Value': agent.instanceId,
        'LookupAttribute.2.Key': 'EventName',
        'LookupAttribute.2.Value': 'RegisterInstance',
      });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        eventSource: 'agent',
        errorCode: '',
        userIdentity: { type: 'activation' },
      });
      expect(events[0]?.requestParameters.ActivationId).toMatch(/-/);
    });

    it('records a terminal session open once, under the key that started it, never its token', async () => {
      const { body } = await sdk.startTerminalSession(
        new Ecs.StartTerminalSessionRequest({ regionId: region, instanceId: [agent.instanceId] }),
      );
      secrets.push(body?.securityToken ?? 'missing token');
      const socket = new FrameSocket(new WebSocket(`${body?.webSocketUrl}?token=${body?.securityToken}`));
      await socket.opened;
      socket.socket.close();
      const events = await allEvents(root, {
        'LookupAttribute.1.Key': 'ResourceName',
        'LookupAttribute.1.Value': body?.sessionId ?? '',
      });
      const opens = events.filter((event) => event.eventName === 'OpenTerminalSession');
      expect(opens).toHaveLength(1);
      expect(opens[0]).toMatchObject({
        eventSource: 'session',
        userIdentity: { type: 'root-account', accessKeyId: server.accessKeyId },
      });
      expect(opens[0]?.resourceName.split(';')).toContain(agent.instanceId);
    });

    it('refuses the trail to a key whose policy does not allow actiontrail:LookupEvents, and records the refusal', async () => {
      const restricted = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
        root,
        'CreateAccessKey',
        { Policy: JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['ecs:*'] }] }) },
        ram,
      );
      secrets.push(restricted.AccessKey.AccessKeySecret);
      const asRestricted = keyCredentials(restricted.AccessKey);
      const refused = await lookup(asRestricted).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'Forbidden.RAM', status: 403 });
      expect((await once((refused as ApiCallError).requestId)).errorCode).toBe('Forbidden.RAM');
      const reader = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
        root,
        'CreateAccessKey',
        {
          Policy: JSON.stringify({
            Version: '1',
            Statement: [{ Effect: 'Allow', Action: ['actiontrail:LookupEvents'] }],
          }),
        },
        ram,
      );
      secrets.push(reader.AccessKey.AccessKeySecret);
      const page = await lookup(keyCredentials(reader.AccessKey), { MaxResults: 5 });
      expect(page.Events).toHaveLength(5);
    });

    it('filters by time and read/write, and refuses malformed filters with their codes', async () => {
      const future = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
      expect((await lookup(root, { StartTime: future })).Events).toEqual([]);
      const reads = await lookup(root, {
        'LookupAttribute.1.Key': 'EventRW',
        'LookupAttribute.1.Value': 'Read',
      });
      expect(reads.Events.length).toBeGreaterThan(0);
      expect(new Set(reads.Events.map((event) => event.eventRW))).toEqual(new Set(['Read']));
      const refusals: [Record<string, string | number>, string][] = [
        [{ StartTime: 'yesterday' }, 'InvalidParameter'],
        [{ StartTime: future, EndTime: '2020-01-01T00:00:00Z' }, 'InvalidParameter'],
        [{ 'LookupAttribute.1.Key': 'Colour', 'LookupAttribute.1.Value': 'red' }, 'InvalidParameter'],
        [{ 'LookupAttribute.1.Key': 'EventRW', 'LookupAttribute.1.Value': 'Both' }, 'InvalidParameter'],
        [{ 'LookupAttribute.1.Key': 'EventName' }, 'InvalidParameter'],
        [{ MaxResults: 51 }, 'InvalidParameter.MaxResults'],
        [{ NextToken: 'not-a-token' }, 'InvalidParameter.NextToken'],
      ];
      for (const [params, code] of refusals) {
        await expect(lookup(root, params), JSON.stringify(params)).rejects.toMatchObject({
          code,
          status: 400,
        });
      }
    });

    it('offers no action that changes or deletes a record', async () => {
      for (const action of ['DeleteEvents', 'UpdateEvent', 'PutEvents', 'DeleteTrail']) {
        const error = await invoke(root, action, {}, actionTrail).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'InvalidAction.NotFound' });
      }
    });

    it('lists the trail with `openassist audit --json`, filtered', async () => {
      const run = await cli(
        ['audit', '--json', '--action', 'RunCommand', '--instance', agent.instanceId, '--since', '1h'],
        { env: cliEnv() },
      );
      expect(run.code).toBe(0);
      const events = JSON.parse(run.stdout) as TrailEvent[];
      expect(events).toHaveLength(1);
      expect(events[0]?.eventName).toBe('RunCommand');
      const table = await cli(['audit', '--limit', '3'], { env: cliEnv() });
      expect(table.stdout).toMatch(/Time.*Event.*Source.*Key/);
      expect(table.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(4);
      const wrong = await cli(['audit', '--since', 'yesterday-ish'], { env: cliEnv() });
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain('--since takes a duration');
    });

    it('records the agent deregistering itself once', async () => {
      const run = await cli(['agent', '--deregister', '--server', server.url, '--state-dir', agent.stateDir]);
      expect(run.stdout, run.stderr).toContain(`deregistered ${agent.instanceId}`);
      // Its channel closed, the running agent stops.
      expect(await agent.exited).toBe(3);
      const events = await allEvents(root, {
        'LookupAttribute.1.Key': 'EventName',
        'LookupAttribute.1.Value': 'DeregisterInstance',
      });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        eventSource: 'agent',
        resourceName: agent.instanceId,
        userIdentity: { type: 'instance', principalId: agent.instanceId },
      });
    });

    it('holds no secret in any record or in the export file, which has every record', async () => {
      const events = await allEvents(root);
      const records = JSON.stringify(events);
      const exported = await waitFor('the export to hold every record', async () => {
        const text = await readFile(exportFile, 'utf8');
        const ids = new Set(
          text
            .trim()
            .split('\n')
            .map((line) => (JSON.parse(line) as TrailEvent).eventId),
        );
        return events.every((event) => ids.has(event.eventId)) ? text : undefined;
      });
      expect(secrets.length).toBeGreaterThanOrEqual(10);
      for (const secret of secrets) {
        expect(records).not.toContain(secret);
        expect(exported).not.toContain(secret);
      }
    });
  });
}

describe('audit trail switched off, and swept by its retention', () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });
  const credentialsOf = (server: ServerProcess): Credentials => ({
    endpoint: server.url,
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
  });

  it('records nothing with OPENASSIST_AUDIT=off', async () => {
    const server = await startServerProcess({ env: { OPENASSIST_AUDIT: 'off' } });
    servers.push(server);
    await invoke(credentialsOf(server), 'DescribeRegions', { RegionId: region });
    expect((await lookup(credentialsOf(server))).Events).toEqual([]);
  });

  it('deletes records older than OPENASSIST_AUDIT_RETENTION_DAYS', async () => {
    // 0.0001 days is 8.6 s; the sweep runs four times per retention window.
    const server = await startServerProcess({ env: { OPENASSIST_AUDIT_RETENTION_DAYS: '0.0001' } });
    servers.push(server);
    const root = credentialsOf(server);
    const { RequestId } = await invoke<{ RequestId: string }>(root, 'DescribeRegions', { RegionId: region });
    const regions = { 'LookupAttribute.1.Key': 'EventName', 'LookupAttribute.1.Value': 'DescribeRegions' };
    expect((await lookup(root, regions)).Events.map((event) => event.requestId)).toEqual([RequestId]);
    await waitFor(
      'the record to be swept',
      async () => ((await lookup(root, regions)).Events.length === 0 ? true : undefined),
      30_000,
    );
  });
});
