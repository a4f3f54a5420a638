import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { channelPath, registerPath } from '../../src/protocol/messages.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { ProtocolAgent } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** A registration over HTTP, as an agent (or an attacker) sends it. */
async function registerRaw(serverUrl: string, activationId: string, activationCode: string): Promise<Answer> {
  const response = await fetch(new URL(registerPath, serverUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      activationId,
      activationCode,
      hostname: 'raw',
      osType: 'linux',
      osVersion: 'Linux',
      agentVersion: 'test',
      machineId: 'raw',
    }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** A channel upgrade with any credentials: the status and error body when refused, 101 when opened. */
function openChannel(serverUrl: string, instanceId: string, token: string): Promise<Answer> {
  const url = new URL(channelPath, serverUrl);
  url.protocol = 'ws:';
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      headers: { 'x-openassist-instance-id': instanceId, authorization: `Bearer ${token}` },
    });
    ws.on('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () => {
        ws.terminate();
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers)) headers.set(name, String(value));
        resolve({ status: response.statusCode ?? 0, headers, body: JSON.parse(text || '{}') });
      });
    });
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101, headers: new Headers(), body: {} });
    });
    ws.on('error', () => undefined);
  });
}

describe('agents: a token is its own instance only, activations hold their limits', () => {
  let server: ServerProcess;
  let client: EcsClient;
  let realAgent: AgentProcess;

  async function createActivation(fields: Record<string, unknown> = {}) {
    const { body } = await client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: region, instanceCount: 10, ...fields }),
    );
    return { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
  }

  async function rows(invokeId: string, includeHistory = false) {
    const { body } = await client.describeInvocationResults(
      new Ecs.DescribeInvocationResultsRequest({
        regionId: region,
        invokeId,
        contentEncoding: 'PlainText',
        includeHistory,
      }),
    );
    return body?.invocation?.invocationResults?.invocationResult ?? [];
  }

  beforeAll(async () => {
    server = await startServerProcess({ env: { OPENASSIST_HEARTBEAT_S: '2' } });
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const activation = await createActivation();
    realAgent = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
    });
  });

  afterAll(async () => {
    await realAgent?.stop();
    expect(await server?.stop()).toBe(0);
  });

  it("refuses an instance id with another instance's token, and the activation code as a token", async () => {
    const activation = await createActivation();
    const [a, b] = await Promise.all([
      ProtocolAgent.register(server.url, activation, 'linux'),
      ProtocolAgent.register(server.url, activation, 'linux'),
    ]);
    const refused = await openChannel(server.url, b.instanceId, a.token);
    expect(refused.status).toBe(401);
    expect(refused.body.Code).toBe('InvalidToken.Agent');
    expect((await openChannel(server.url, a.instanceId, activation.code)).status).toBe(401);
    // The genuine pair still opens (and replaces the protocol agent's own channel).
    expect((await openChannel(server.url, a.instanceId, a.token)).status).toBe(101);
    a.close();
    b.close();
  });

  it("ignores another instance's forged events: its run, output and status stay its own", async () => {
    const activation = await createActivation();
    const intruder = await ProtocolAgent.register(server.url, activation, 'linux');
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'sleep 2; echo genuine output',
        instanceId: [realAgent.instanceId],
      }),
    );
    const invokeId = body?.invokeId ?? '';
    await waitFor('the genuine run to start', async () =>
      (await rows(invokeId))[0]?.invocationStatus === 'Running' ? true : undefined,
    );
    let eventId = 1000;
    const forge = (event: Record<string, unknown>, execution?: number) =>
      intruder.sendRaw({
        type: 'event',
        eventId: String(++eventId),
        invokeId,
        ...(execution && { execution }),
        event,
      });
    forge({ kind: 'accepted' });
    forge({ kind: 'output', offset: 0, data: Buffer.from('forged output\n').toString('base64') });
    forge({
      kind: 'finished',
      atMs: Date.now(),
      status: 'Terminated',
      exitCode: 137,
      errorCode: '',
      errorInfo: 'forged',
      droppedBytes: 0,
    });
    forge({ kind: 'accepted' }, 7); // a run of a schedule the intruder does not hold
    const done = await waitFor('the genuine run to finish', async () => {
      const [row] = await rows(invokeId);
      return row?.invocationStatus === 'Success' ? row : undefined;
    });
    expect(done).toMatchObject({
      instanceId: realAgent.instanceId,
      exitCode: 0,
      output: 'genuine output\n',
      errorInfo: '',
    });
    const history = await rows(invokeId, true);
    expect(history.map((row) => row.instanceId)).toEqual([realAgent.instanceId]);
    // It never saw the other instance's task, and its channel is still its own.
    expect(intruder.tasks.map((task) => task.invokeId)).not.toContain(invokeId);
    // A late forgery after the end changes nothing either.
    forge({
      kind: 'output',
      offset: 'genuine output\n'.length,
      data: Buffer.from('more').toString('base64'),
    });
    await new Promise((resolve) => setImmediate(resolve));
    const { body: invocations } = await client.describeInvocations(
      new Ecs.DescribeInvocationsRequest({ regionId: region, invokeId }),
    );
    const invocation = invocations?.invocations?.invocation?.[0];
    expect(invocation?.invocationStatus).toBe('Success');
    expect(invocation?.invokeInstances?.invokeInstance?.map((row) => row.instanceId)).toEqual([
      realAgent.instanceId,
    ]);
    intruder.close();
  });

  it('cuts off an agent that sends server-only messages (ack, cancel): agents cannot acknowledge or cancel', async () => {
    const activation = await createActivation();
    for (const frame of [
      { type: 'ack', eventIds: ['1'] },
      { type: 'cancel', invokeId: 't-0123456789abcdef', terminationMode: 'ProcessTree' },
    ]) {
      const agent = await ProtocolAgent.register(server.url, activation, 'linux');
      const closed = agent.closed();
      agent.sendRaw(frame);
      expect(await closed).toBe(1008);
    }
  });

  it('closes a deregistered instance at once and refuses it afterwards with InvalidToken.Agent', async () => {
    const activation = await createActivation();
    const agent = await ProtocolAgent.register(server.url, activation, 'linux');
    const closed = agent.closed();
    const startedMs = Date.now();
    await client.deregisterManagedInstance(
      new Ecs.DeregisterManagedInstanceRequest({ regionId: region, instanceId: agent.instanceId }),
    );
    expect(await closed).toBe(4001);
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    const again = await openChannel(server.url, agent.instanceId, agent.token);
    expect({ status: again.status, code: again.body.Code }).toEqual({
      status: 401,
      code: 'InvalidToken.Agent',
    });

    // A real agent exits with status 3 and says why.
    const real = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
    });
    await client.deregisterManagedInstance(
      new Ecs.DeregisterManagedInstanceRequest({ regionId: region, instanceId: real.instanceId }),
    );
    expect(await real.exited).toBe(3);
    expect(real.output()).toContain('deregistered');
    // Restarted with its old identity, it is refused with the code and exits again.
    const identity = JSON.parse(await readFile(join(real.stateDir, 'identity.json'), 'utf8'));
    expect(identity.instanceId).toBe(real.instanceId);
    const restarted = await startAgentProcess({
      serverUrl: server.url,
      stateDir: real.stateDir,
      waitConnected: false,
    });
    expect(await restarted.exited).toBe(3);
    expect(restarted.output()).toContain('InvalidToken.Agent');
    await rm(real.stateDir, { recursive: true, force: true });
  });

  it('keeps registered instances of a disabled activation connected (Alibaba: it only stops new registrations)', async () => {
    const activation = await createActivation();
    const agent = await ProtocolAgent.register(server.url, activation, 'linux');
    await client.disableActivation(
      new Ecs.DisableActivationRequest({ regionId: region, activationId: activation.id }),
    );
    expect((await registerRaw(server.url, activation.id, activation.code)).body.Code).toBe(
      'Activation.Disabled',
    );
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'true',
        instanceId: [agent.instanceId],
      }),
    );
    await waitFor('the run on the disabled activation to succeed', async () =>
      (await rows(body?.invokeId ?? ''))[0]?.invocationStatus === 'Success' ? true : undefined,
    );
    agent.close();
  });

  it('binds a code to its own activation: another activation id with it is ActivationCode.Invalid', async () => {
    const [first, second] = [await createActivation(), await createActivation()];
    const crossed = await registerRaw(server.url, second.id, first.code);
    expect({ status: crossed.status, code: crossed.body.Code }).toEqual({
      status: 403,
      code: 'ActivationCode.Invalid',
    });
    // Nor is an activation code an access key secret.
    await expectApiError(
      ecsClient(server.endpoint, first.id, first.code).describeRegions(new Ecs.DescribeRegionsRequest({})),
      'InvalidAccessKeyId.NotFound',
      404,
    );
  });

  it('registers at most InstanceCount instances, even when they race', async () => {
    const activation = await createActivation({ instanceCount: 2 });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => registerRaw(server.url, activation.id, activation.code)),
    );
    const codes = answers.map((answer) => (answer.status === 200 ? 'ok' : answer.body.Code)).sort();
    expect(codes).toEqual([
      'Activation.CountExceeded',
      'Activation.CountExceeded',
      'Activation.CountExceeded',
      'Activation.CountExceeded',
      'ok',
      'ok',
    ]);
  });

  it('refuses registration once TimeToLiveInHours has passed', async () => {
    const activation = await createActivation({ timeToLiveInHours: 1 });
    expect((await registerRaw(server.url, activation.id, activation.code)).status).toBe(200);
    // An hour cannot pass in a test: the activation is made older in the database instead.
    const db = new Database(join(server.dataDir, 'openassist.db'));
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare('UPDATE activations SET created_at = created_at - ? WHERE id = ?').run(
        3_600_000,
        activation.id,
      );
    } finally {
      db.close();
    }
    const expired = await registerRaw(server.url, activation.id, activation.code);
    expect({ status: expired.status, code: expired.body.Code }).toEqual({
      status: 403,
      code: 'Activation.Expired',
    });
  });

  it('registers only from inside IpAddressRange', async () => {
    const inside = await createActivation({ ipAddressRange: '127.0.0.1/32' });
    expect((await registerRaw(server.url, inside.id, inside.code)).status).toBe(200);
    for (const range of ['10.0.0.0/8', '127.0.0.2', '::1/128']) {
      const outside = await createActivation({ ipAddressRange: range });
      const answer = await registerRaw(server.url, outside.id, outside.code);
      expect({ range, status: answer.status, code: answer.body.Code }).toEqual({
        range,
        status: 403,
        code: 'Activation.AddressNotAllowed',
      });
    }
  });
});

describe('brute force is slowed: failures per source address are throttled (Throttling, 429)', () => {
  let server: ServerProcess;
  let client: EcsClient;
  let registered: { instanceId: string; token: string };

  beforeAll(async () => {
    server = await startServerProcess({ env: { OPENASSIST_AUTH_FAILURES_PER_MINUTE: '3' } });
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    // Registered before the registration test throttles this address.
    const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    const answer = await registerRaw(server.url, body?.activationId ?? '', body?.activationCode ?? '');
    registered = { instanceId: String(answer.body.instanceId), token: String(answer.body.token) };
  });

  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it('refuses every registration from an address after 3 failed ones, the right code included', async () => {
    const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    const activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
    // A success costs nothing.
    expect((await registerRaw(server.url, activation.id, activation.code)).status).toBe(200);
    for (const guess of ['a-guess-1', 'a-guess-2']) {
      expect((await registerRaw(server.url, activation.id, guess)).body.Code).toBe('ActivationCode.Invalid');
    }
    const unknown = await registerRaw(server.url, '00000000-0000-0000-0000-000000000000', 'x');
    expect(unknown.body.Code).toBe('ActivationId.NotFound');
    const throttled = await registerRaw(server.url, activation.id, activation.code);
    expect({ status: throttled.status, code: throttled.body.Code }).toEqual({
      status: 429,
      code: 'Throttling',
    });
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(String(throttled.body.Message)).toContain('retry in');

    // A real agent says so and exits like for any refused registration.
    const agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
      waitConnected: false,
    });
    expect(await agent.exited).toBe(2);
    expect(agent.output()).toContain('Throttling');
    await rm(agent.stateDir, { recursive: true, force: true });
  });

  it('refuses every channel upgrade from an address after 3 failed authentications, counted apart', async () => {
    const { instanceId, token } = registered;
    expect((await openChannel(server.url, instanceId, token)).status).toBe(101);
    for (let i = 0; i < 3; i++)
      expect((await openChannel(server.url, instanceId, `wrong-${i}`)).status).toBe(401);
    const throttled = await openChannel(server.url, instanceId, token);
    expect({ status: throttled.status, code: throttled.body.Code }).toEqual({
      status: 429,
      code: 'Throttling',
    });
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
