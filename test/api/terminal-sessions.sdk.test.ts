import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { sessionsPath } from '../../src/protocol/messages.js';
import {
  ackFrame,
  dataFrame,
  frameType,
  jsonFrame,
  sessionLimits,
} from '../../src/protocol/session-frames.js';
import { waitFor } from '../helpers/deadline.js';
import { ProtocolAgent } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { FrameSocket, openProtocolSession, wsUrl } from '../helpers/session-sockets.js';

const region = 'cn-hangzhou';
type StartFields = Partial<InstanceType<typeof Ecs.StartTerminalSessionRequest>>;

describe('terminal sessions through the official SDK (a protocol agent serves them)', () => {
  let server: ServerProcess;
  let client: EcsClient;
  let root: Credentials;
  let agent: ProtocolAgent;

  const start = (fields: StartFields = {}, as: EcsClient = client) =>
    as.startTerminalSession(
      new Ecs.StartTerminalSessionRequest({ regionId: region, instanceId: [agent.instanceId], ...fields }),
    );

  const openEchoSession = (fields: StartFields = {}, echo = true) =>
    openProtocolSession(server.url, agent, () => start(fields), echo);

  const describeSession = async (sessionId: string) =>
    (
      await client.describeTerminalSessions(
        new Ecs.DescribeTerminalSessionsRequest({ regionId: region, sessionId }),
      )
    ).body?.sessions?.session?.[0];

  beforeAll(async () => {
    server = await startServerProcess({
      env: { OPENASSIST_SESSION_IDLE_TIMEOUT_S: '2', OPENASSIST_SESSIONS_PER_INSTANCE: '3' },
    });
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    root = { endpoint: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
    const activation = (await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region })))
      .body;
    agent = await ProtocolAgent.register(
      server.url,
      { id: activation?.activationId ?? '', code: activation?.activationCode ?? '' },
      'linux',
    );
  });

  afterAll(async () => {
    agent?.close();
    await server?.stop();
  });

  it('starts a session: the URL is the endpoint the SDK called, the token works once', async () => {
    const { sessionId, user, machine, body, open } = await openEchoSession({
      username: 'root',
      commandLine: 'top',
    });
    expect(sessionId).toMatch(/^s-[0-9a-f]{32}$/);
    expect(body?.webSocketUrl).toBe(`ws://${server.endpoint}/session/v1/${sessionId}`);
    expect(open).toMatchObject({ username: 'root', commandLine: 'top' });
    user.socket.send(dataFrame(0, Buffer.from('hello')));
    await waitFor('the echo', () => (user.text() === 'hello' ? true : undefined));
    await waitFor('the connected status', async () =>
      (await describeSession(sessionId))?.connections?.connection?.[0]?.status === 'Connected'
        ? true
        : undefined,
    );
    // The same token again is refused before any upgrade.
    const again = new FrameSocket(new WebSocket(`${body?.webSocketUrl}?token=${body?.securityToken}`));
    await expect(again.opened).rejects.toThrow(/403.*InvalidSecurityToken/);
    // The shell exits with 3.
    machine.socket.send(jsonFrame(frameType.exit, 0, { exitCode: 3 }));
    machine.socket.close(1000);
    expect(await user.waitClosed()).toEqual({ code: 1000, reason: 'ShellExited' });
    const exitFrame = user.frames.find((f) => f.type === frameType.exit);
    expect(Buffer.from(exitFrame?.payload ?? []).toString()).toBe('{"exitCode":3}');
    const described = await waitFor('the end stored', async () => {
      const session = await describeSession(sessionId);
      return session?.connections?.connection?.[0]?.status === 'Closed' ? session : undefined;
    });
    expect(described).toMatchObject({
      sessionId,
      username: 'root',
      clientIP: '127.0.0.1',
      identityType: 'Account',
      principalId: server.accessKeyId,
      connections: { connection: [{ instanceId: agent.instanceId, closedReason: 'ShellExited' }] },
    });
    expect(described?.creationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(described?.connections?.connection?.[0]?.endTime).toMatch(/Z$/);
    // The recording holds the output.
    const recording = await invoke<{ Data: string; Complete: boolean }>(
      root,
      'DescribeTerminalSessionRecording',
      {
        RegionId: region,
        SessionId: sessionId,
      },
    );
    expect(Buffer.from(recording.Data, 'base64').toString()).toBe('hello');
    expect(recording.Complete).toBe(true);
  });

  it('refuses a forged, a missing and an expired-by-end token', async () => {
    const body = (await start()).body;
    for (const url of [
      `${body?.webSocketUrl}?token=forged`,
      `${body?.webSocketUrl}`,
      `${wsUrl(server.url, '/session/v1/s-00000000000000000000000000000000')}?token=${body?.securityToken}`,
    ]) {
      await expect(new FrameSocket(new WebSocket(url)).opened).rejects.toThrow(/403.*InvalidSecurityToken/);
    }
    await client.endTerminalSession(
      new Ecs.EndTerminalSessionRequest({ regionId: region, sessionId: body?.sessionId }),
    );
    await expect(
      new FrameSocket(new WebSocket(`${body?.webSocketUrl}?token=${body?.securityToken}`)).opened,
    ).rejects.toThrow(/403/);
    expect((await describeSession(body?.sessionId ?? ''))?.connections?.connection?.[0]).toMatchObject({
      status: 'Closed',
      closedReason: 'EndedByApi',
    });
  });

  it('EndTerminalSession closes both sockets; an unknown id is InvalidSessionId.NotFound', async () => {
    const { sessionId, user, machine } = await openEchoSession();
    await client.endTerminalSession(new Ecs.EndTerminalSessionRequest({ regionId: region, sessionId }));
    expect(await user.waitClosed()).toEqual({ code: 1000, reason: 'EndedByApi' });
    expect((await machine.waitClosed()).reason).toBe('EndedByApi');
    // Ending again changes nothing.
    await client.endTerminalSession(new Ecs.EndTerminalSessionRequest({ regionId: region, sessionId }));
    await expectApiError(
      client.endTerminalSession(
        new Ecs.EndTerminalSessionRequest({
          regionId: region,
          sessionId: 's-ffffffffffffffffffffffffffffffff',
        }),
      ),
      'InvalidSessionId.NotFound',
      404,
    );
  });

  it('ends an idle session after the idle timeout', async () => {
    const { sessionId, user } = await openEchoSession();
    expect(await user.waitClosed()).toEqual({ code: 1000, reason: 'IdleTimeout' });
    expect(
      (await waitFor('the end', () => describeSession(sessionId)))?.connections?.connection?.[0]
        ?.closedReason,
    ).toBe('IdleTimeout');
  });

  it("admits only the session's own agent, once, with its own token", async () => {
    const activation = (await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region })))
      .body;
    const other = await ProtocolAgent.register(
      server.url,
      { id: activation?.activationId ?? '', code: activation?.activationCode ?? '' },
      'linux',
    );
    const { sessionId, user } = await openEchoSession();
    const dial = (instanceId: string, token: string) =>
      new FrameSocket(
        new WebSocket(wsUrl(server.url, `${sessionsPath}${sessionId}`), {
          headers: { 'x-openassist-instance-id': instanceId, authorization: `Bearer ${token}` },
        }),
      ).opened;
    // Another instance, with its own valid token: not its session.
    await expect(dial(other.instanceId, other.token)).rejects.toThrow(/404.*InvalidSessionId.NotFound/);
    // The right instance with a wrong token.
    await expect(dial(agent.instanceId, other.token)).rejects.toThrow(/InvalidToken.Agent/);
    // The right agent a second time: the place is taken.
    await expect(dial(agent.instanceId, agent.token)).rejects.toThrow(/404/);
    // A text frame from the client is no frame.
    user.socket.send('hello');
    expect((await user.waitClosed()).reason).toBe('ProtocolError');
    other.close();
  });

  it('cuts off a client that acknowledges bytes never sent', async () => {
    const { user } = await openEchoSession({}, false);
    user.socket.send(ackFrame(0, 1));
    expect((await user.waitClosed()).reason).toBe('ProtocolError');
  });

  it('cuts off a peer that sends past its window', async () => {
    // An agent that reads nothing: a client sending more than a window unacknowledged is cut.
    const { user } = await openEchoSession({}, false);
    const big = Buffer.alloc(sessionLimits.maxPayloadBytes);
    for (let i = 0; i <= sessionLimits.windowBytes / big.length; i++) user.socket.send(dataFrame(0, big));
    expect((await user.waitClosed()).reason).toBe('ProtocolError');
  });

  it('checks the request as Alibaba does', async () => {
    await expectApiError(start({ instanceId: [] }), 'MissingParameter.InstanceIds', 400);
    await expectApiError(
      start({ instanceId: [agent.instanceId, agent.instanceId] }),
      'InstanceIds.ExceedLimit',
      403,
    );
    await expectApiError(start({ instanceId: ['mi-0123456789abcdef'] }), 'InvalidInstance.NotFound', 404);
    await expectApiError(start({ commandLine: 'x'.repeat(513) }), 'CommandLine.ExceedLimit', 400);
    await expectApiError(start({ portNumber: 70000 }), 'InvalidPortNumber.Malformed', 400);
    await expectApiError(
      start({ targetServer: 'bad host!', portNumber: 80 }),
      'InvalidTargetServer.Malformed',
      400,
    );
    await expectApiError(start({ targetServer: '10.0.0.1' }), 'MissingParameter.PortNumber', 400);
    await expectApiError(start({ connectionType: 'Satellite' }), 'InvalidParameter.ConnectionType', 400);
    await expectApiError(
      start({ encryptionOptions: new Ecs.StartTerminalSessionRequestEncryptionOptions({ enabled: true }) }),
      'InvalidParameter.EncryptionOptions',
      400,
    );
    await expectApiError(
      start({ encryptionOptions: new Ecs.StartTerminalSessionRequestEncryptionOptions({ mode: 'Quantum' }) }),
      'InvalidParameter.EncryptionOptions',
      400,
    );
    await expectApiError(start({ username: 'bad user' }), 'InvalidUsername.Malformed', 400);
    // Port forwarding: the agent is asked for the port and target.
    const body = (await start({ portNumber: 8080, targetServer: 'db.internal' })).body;
    const user = new FrameSocket(new WebSocket(`${body?.webSocketUrl}?token=${body?.securityToken}`));
    await user.opened;
    const open = await waitFor('session-open', () =>
      agent.sessionOpens.find((o) => o.sessionId === body?.sessionId),
    );
    expect(open).toMatchObject({ portNumber: 8080, targetServer: 'db.internal' });
    user.socket.close();
  });

  it('SessionManagerEnabled=false refuses new sessions; limits per instance', async () => {
    const modify = (enabled: boolean) =>
      client.modifyCloudAssistantSettings(
        new Ecs.ModifyCloudAssistantSettingsRequest({
          regionId: region,
          settingType: 'SessionManagerConfig',
          sessionManagerConfig: new Ecs.ModifyCloudAssistantSettingsRequestSessionManagerConfig({
            sessionManagerEnabled: enabled,
          }),
        }),
      );
    await modify(false);
    await expectApiError(start(), 'InvalidOperation.SessionManagerDisabled', 403);
    const settings = await client.describeCloudAssistantSettings(
      new Ecs.DescribeCloudAssistantSettingsRequest({
        regionId: region,
        settingType: ['SessionManagerConfig'],
      }),
    );
    expect(settings.body?.sessionManagerConfig?.sessionManagerEnabled).toBe(false);
    await modify(true);
    // Three live sessions at most on the instance (OPENASSIST_SESSIONS_PER_INSTANCE=3).
    const live = (
      await client.describeTerminalSessions(
        new Ecs.DescribeTerminalSessionsRequest({ regionId: region, maxResults: 100 }),
      )
    ).body?.sessions?.session?.filter((s) =>
      ['Pending', 'Connecting', 'Connected'].includes(s.connections?.connection?.[0]?.status ?? ''),
    );
    const toOpen = 3 - (live?.length ?? 0);
    for (let i = 0; i < toOpen; i++) await start();
    await expectApiError(start(), 'SessionCount.ExceedLimit', 403);
    // Ended, they no longer count.
    const all = await client.describeTerminalSessions(
      new Ecs.DescribeTerminalSessionsRequest({ regionId: region, maxResults: 100 }),
    );
    for (const session of all.body?.sessions?.session ?? []) {
      await client.endTerminalSession(
        new Ecs.EndTerminalSessionRequest({ regionId: region, sessionId: session.sessionId }),
      );
    }
    await client.endTerminalSession(
      new Ecs.EndTerminalSessionRequest({ regionId: region, sessionId: (await start()).body?.sessionId }),
    );
  });

  it('refuses keys whose policy or resource group does not reach the instance (Forbidden.RAM)', async () => {
    const newKey = async (limits: { Policy?: string; ResourceGroupId?: string }) => {
      const { AccessKey } = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
        root,
        'CreateAccessKey',
        limits,
        '2015-05-01',
      );
      return ecsClient(server.endpoint, AccessKey.AccessKeyId, AccessKey.AccessKeySecret);
    };
    const reader = await newKey({
      Policy: JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['ecs:Describe*'] }] }),
    });
    await expectApiError(start({}, reader), 'Forbidden.RAM', 403);
    // Its Describe still works, and a key allowed StartTerminalSession may start one.
    await reader.describeTerminalSessions(new Ecs.DescribeTerminalSessionsRequest({ regionId: region }));
    const opener = await newKey({
      Policy: JSON.stringify({
        Version: '1',
        Statement: [{ Effect: 'Allow', Action: ['ecs:StartTerminalSession'] }],
      }),
    });
    const started = (await start({}, opener)).body;
    const described = await describeSession(started?.sessionId ?? '');
    expect(described).toMatchObject({ identityType: 'RAMUser' });
    await client.endTerminalSession(
      new Ecs.EndTerminalSessionRequest({ regionId: region, sessionId: started?.sessionId }),
    );
    // A key scoped to another resource group does not reach the instance, nor its sessions.
    const { ResourceGroup } = await invoke<{ ResourceGroup: { Id: string } }>(
      root,
      'CreateResourceGroup',
      { Name: 'elsewhere', DisplayName: 'elsewhere' },
      '2020-03-31',
    );
    const scoped = await newKey({ ResourceGroupId: ResourceGroup.Id });
    await expectApiError(start({}, scoped), 'Forbidden.RAM', 403);
    await expectApiError(
      scoped.endTerminalSession(
        new Ecs.EndTerminalSessionRequest({ regionId: region, sessionId: started?.sessionId }),
      ),
      'Forbidden.RAM',
      403,
    );
  });

  it('pages DescribeTerminalSessions with NextToken, newest first', async () => {
    const first = await client.describeTerminalSessions(
      new Ecs.DescribeTerminalSessionsRequest({
        regionId: region,
        instanceId: agent.instanceId,
        maxResults: 2,
      }),
    );
    const page = first.body?.sessions?.session ?? [];
    expect(page).toHaveLength(2);
    expect(first.body?.nextToken).toBeTruthy();
    const second = await client.describeTerminalSessions(
      new Ecs.DescribeTerminalSessionsRequest({
        regionId: region,
        maxResults: 2,
        nextToken: first.body?.nextToken,
      }),
    );
    const ids = new Set(page.map((s) => s.sessionId));
    for (const session of second.body?.sessions?.session ?? [])
      expect(ids.has(session.sessionId)).toBe(false);
    expect((page[0]?.creationTime ?? '') >= (page[1]?.creationTime ?? '')).toBe(true);
  });
});
