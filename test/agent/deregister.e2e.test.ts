import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { cli } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// An uninstall ends the machine's registration from the machine itself: `openassist agent
// --deregister` calls POST /agent/v1/deregister with the agent's own credentials.

const status = (stateDir: string): string => {
  try {
    return readFileSync(`${stateDir}/status`, 'utf8');
  } catch {
    return '';
  }
};

describe('openassist agent --deregister', () => {
  let server: ServerProcess;
  let client: EcsClient;
  let activation: { id: string; code: string };
  const agents: AgentProcess[] = [];
  const cleanup: string[] = [];

  const registered = async (): Promise<string[]> => {
    const { body } = await client.describeManagedInstances(
      new Ecs.DescribeManagedInstancesRequest({ regionId: 'cn-hangzhou', activationId: activation.id }),
    );
    return (body?.instances ?? []).map((instance) => instance.instanceId ?? '');
  };

  beforeAll(async () => {
    server = await startServerProcess();
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou', instanceCount: 5 }),
    );
    activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await server?.stop();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  it('writes the status file an installer waits on, then deregisters the instance it belongs to', async () => {
    const agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
    });
    agents.push(agent);
    expect(status(agent.stateDir)).toBe(`connected ${agent.instanceId}\n`);
    expect(await registered()).toContain(agent.instanceId);

    const run = await cli(['agent', '--deregister', '--server', server.url, '--state-dir', agent.stateDir]);
    expect(run.stdout).toContain(`deregistered ${agent.instanceId}`);
    expect(run.code).toBe(0);
    expect(await registered()).not.toContain(agent.instanceId);
    expect(existsSync(`${agent.stateDir}/identity.json`)).toBe(false);
    // The running agent's channel is closed: it stops, and says why in its status file.
    expect(await agent.exited).toBe(3);
    expect(status(agent.stateDir)).toMatch(/^failed .*was deregistered/);
  });

  it('says so when the state dir holds no identity, and when the server refuses the token', async () => {
    // A state dir of the test's own: it outlives the agent process.
    const stateDir = await mkdtemp(join(tmpdir(), 'openassist-deregister-'));
    cleanup.push(stateDir);
    const agent = await startAgentProcess({
      serverUrl: server.url,
      stateDir,
      activationId: activation.id,
      activationCode: activation.code,
    });
    agents.push(agent);
    await agent.stop();
    const args = ['agent', '--deregister', '--server', server.url, '--state-dir', agent.stateDir];
    expect(status(agent.stateDir)).toBe('stopped\n');

    // Deregistered already (by the API): the agent's token no longer works.
    await client.deregisterManagedInstance(
      new Ecs.DeregisterManagedInstanceRequest({ regionId: 'cn-hangzhou', instanceId: agent.instanceId }),
    );
    const refused = await cli(args);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      `the server refused to deregister ${agent.instanceId}: InvalidToken.Agent`,
    );

    const none = await cli([...args.slice(0, 4), '--state-dir', `${agent.stateDir}/nothing`]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('this agent is not registered');
  });

  it('refuses a failed registration in the status file, so an installer need not wait', async () => {
    const agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: 'wrong-code',
      waitConnected: false,
    });
    agents.push(agent);
    await agent.exited;
    await waitFor('the status file', () => status(agent.stateDir) || undefined);
    expect(status(agent.stateDir)).toMatch(/^failed registration refused: ActivationCode.Invalid/);

    // No server answering is not final: the supervisor starts the agent again, and it retries.
    const unreachable = await startAgentProcess({
      serverUrl: 'http://127.0.0.1:1',
      activationId: activation.id,
      activationCode: activation.code,
      waitConnected: false,
    });
    agents.push(unreachable);
    expect(await unreachable.exited).not.toBe(0);
    expect(unreachable.output()).toContain('cannot reach a server to register');
    expect(status(unreachable.stateDir)).toBe('');
  });
});
