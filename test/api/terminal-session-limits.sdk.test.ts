import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { dataFrame } from '../../src/protocol/session-frames.js';
import { waitFor } from '../helpers/deadline.js';
import { ProtocolAgent } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { openProtocolSession } from '../helpers/session-sockets.js';

const region = 'cn-hangzhou';

// A server whose sessions last 2 s at most, input recorded: the duration limit, the input
// recording, and the end of the sessions a stopping server relays.
describe('session limits, input recording and a stopping server', () => {
  let server: ServerProcess;
  let client: EcsClient;
  let root: Credentials;
  let agent: ProtocolAgent;
  let dataDir: string;

  const open = () =>
    openProtocolSession(server.url, agent, () =>
      client.startTerminalSession(
        new Ecs.StartTerminalSessionRequest({ regionId: region, instanceId: [agent.instanceId] }),
      ),
    );
  const closedReason = async (sessionId: string) =>
    (
      await client.describeTerminalSessions(
        new Ecs.DescribeTerminalSessionsRequest({ regionId: region, sessionId }),
      )
    ).body?.sessions?.session?.[0]?.connections?.connection?.[0]?.closedReason || undefined;

  beforeAll(async () => {
    // A data dir of the test's own: the server is restarted on it.
    dataDir = await mkdtemp(join(tmpdir(), 'openassist-sessions-'));
    server = await startServerProcess({ dataDir, env: { OPENASSIST_SESSION_MAX_DURATION_S: '2' } });
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    root = { endpoint: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
    const activation = (await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region })))
      .body;
    agent = await ProtocolAgent.register(
      server.url,
      { id: activation?.activationId ?? '', code: activation?.activationCode ?? '' },
      'linux',
    );
    // RecordInput is an extension: the SDK's typed model has no field for it.
    await invoke(root, 'ModifyCloudAssistantSettings', {
      RegionId: region,
      SettingType: 'SessionManagerConfig',
      SessionManagerConfig: '{"RecordInput":true}',
    });
  });

  afterAll(async () => {
    agent?.close();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('records the input when RecordInput is on, and ends a session at its maximum duration', async () => {
    const { sessionId, user } = await open();
    user.socket.send(dataFrame(0, Buffer.from('typed words\r')));
    await waitFor('the echo', () => (user.text().includes('typed words') ? true : undefined));
    // Activity does not extend the maximum duration (the idle timeout is 30 min here).
    expect((await user.waitClosed()).reason).toBe('MaxDurationExceeded');
    expect(await waitFor('the end', () => closedReason(sessionId))).toBe('MaxDurationExceeded');
    const read = (stream: string) =>
      invoke<{ Data: string }>(root, 'DescribeTerminalSessionRecording', {
        RegionId: region,
        SessionId: sessionId,
        Stream: stream,
      });
    expect(Buffer.from((await read('Input')).Data, 'base64').toString()).toBe('typed words\r');
    expect(Buffer.from((await read('Output')).Data, 'base64').toString()).toBe('typed words\r');
  });

  it('ends the sessions a stopping server relays (ServerShutdown), stored before it exits', async () => {
    const { sessionId, user } = await open();
    const accessKey = { id: server.accessKeyId, secret: server.accessKeySecret };
    const listen = server.endpoint;
    await server.stop();
    expect((await user.waitClosed()).reason).toBe('ServerShutdown');
    server = await startServerProcess({ dataDir, listen, accessKey });
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    expect(await closedReason(sessionId)).toBe('ServerShutdown');
  });
});
