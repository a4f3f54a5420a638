import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerMessage, protocolVersion } from '../../src/protocol/messages.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { helloMessage, openChannel, registerIdentity } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// Agents and servers are upgraded one at a time: an agent one protocol version older is served; one
// newer is closed with 4003 and a reason naming the server's version, which the real agent prints.
const region = 'cn-hangzhou';

let server: ServerProcess;
let client: EcsClient;
let activation: { id: string; code: string };
const agents: AgentProcess[] = [];

beforeAll(async () => {
  server = await startServerProcess();
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  const { body } = await client.createActivation(
    new Ecs.CreateActivationRequest({ regionId: region, instanceCount: 10 }),
  );
  activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
});

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop()));
  expect(await server?.stop()).toBe(0);
});

/** What the server answers a hello claiming `version`: the first frame's type, or the close. */
async function helloAnswer(
  version: number,
): Promise<{ frame?: string; close?: { code: number; reason: string } }> {
  const identity = await registerIdentity(server.url, activation, {
    hostname: `protocol-${version}`,
    agentVersion: '0.3.0',
  });
  const socket = openChannel(server.url, identity);
  try {
    return await new Promise((resolve, reject) => {
      socket.on('open', () =>
        socket.send(
          JSON.stringify(helloMessage({ protocolVersion: version, hostname: `protocol-${version}` })),
        ),
      );
      socket.on('message', (data) =>
        resolve({ frame: parseServerMessage(data.toString())?.type ?? 'malformed' }),
      );
      socket.on('close', (code, reason) => resolve({ close: { code, reason: reason.toString() } }));
      socket.on('error', reject);
    });
  } finally {
    socket.terminate();
  }
}

async function runAndWait(instanceId: string): Promise<{ status?: string; output?: string }> {
  const { body } = await client.runCommand(
    new Ecs.RunCommandRequest({
      regionId: region,
      type: 'RunShellScript',
      commandContent: 'echo served',
      instanceId: [instanceId],
    }),
  );
  const invokeId = body?.invokeId ?? '';
  return waitFor(`${invokeId} to end`, async () => {
    const { body: results } = await client.describeInvocationResults(
      new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId, contentEncoding: 'PlainText' }),
    );
    const row = results?.invocation?.invocationResults?.invocationResult?.[0];
    return row?.invocationStatus === 'Success' || row?.invocationStatus === 'Failed'
      ? { status: row.invocationStatus, output: row.output ?? '' }
      : undefined;
  });
}

describe('agent protocol versions', () => {
  it('welcomes a hello one protocol version older, and closes one newer with 4003 naming its version', async () => {
    expect(await helloAnswer(protocolVersion - 1)).toEqual({ frame: 'welcome' });
    expect(await helloAnswer(protocolVersion)).toEqual({ frame: 'welcome' });
    expect(await helloAnswer(protocolVersion + 1)).toEqual({
      close: {
        code: 4003,
        reason: `this server speaks agent protocol ${protocolVersion}; use an agent of that version`,
      },
    });
  });

  it('serves a real agent one protocol version older', async () => {
    const older = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
      env: { OPENASSIST_TEST_PROTOCOL_VERSION: String(protocolVersion - 1) },
    });
    agents.push(older);
    expect(await runAndWait(older.instanceId)).toEqual({ status: 'Success', output: 'served\n' });
  });

  it('has a real agent one protocol version newer say why it was refused, and keep running', async () => {
    const newer = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
      env: { OPENASSIST_TEST_PROTOCOL_VERSION: String(protocolVersion + 1) },
      waitConnected: false,
    });
    agents.push(newer);
    const said = `the server refused agent protocol ${protocolVersion + 1} (this server speaks agent protocol ${protocolVersion}; use an agent of that version): upgrade the server or run an older agent`;
    await waitFor('the agent to say why it was refused', () =>
      newer.output().includes(said) ? true : undefined,
    );
    expect(newer.output()).not.toContain('connected as');
    expect(newer.child.exitCode).toBeNull();
  });
});
