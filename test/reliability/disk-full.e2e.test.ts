import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { fillDisk, mountSmallDisk, unmountSmallDisk } from '../helpers/small-disk.js';

// The agent's state dir fills up: a task it cannot journal must end with a definite error that says
// so, the agent must keep serving, and a task after space returns must run.
const region = 'cn-hangzhou';

const scratch = await mkdtemp(join(tmpdir(), 'openassist-disk-full-'));
const stateDir = join(scratch, 'state');
await mkdir(stateDir);
const cannotMount = mountSmallDisk(stateDir, '2m');
if (cannotMount) console.warn(`skipping the disk-full test: ${cannotMount}`);

describe.skipIf(cannotMount !== undefined)('the agent state dir full', () => {
  let server: ServerProcess;
  let client: EcsClient;
  let agent: AgentProcess;

  beforeAll(async () => {
    server = await startServerProcess();
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: body?.activationId ?? '',
      activationCode: body?.activationCode ?? '',
      stateDir,
    });
  });

  afterAll(async () => {
    await agent?.stop();
    expect(await server?.stop()).toBe(0);
    unmountSmallDisk(stateDir);
    await rm(scratch, { recursive: true, force: true });
  });

  async function runToEnd(script: string) {
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: script,
        instanceId: [agent.instanceId],
      }),
    );
    const invokeId = body?.invokeId ?? '';
    return waitFor(`${invokeId} to end`, async () => {
      const { body: results } = await client.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({
          regionId: region,
          invokeId,
          contentEncoding: 'PlainText',
        }),
      );
      const row = results?.invocation?.invocationResults?.invocationResult?.[0];
      return ['Success', 'Failed', 'Error', 'Aborted'].includes(row?.invocationStatus ?? '')
        ? row
        : undefined;
    });
  }

  async function online(): Promise<string> {
    const { body } = await client.describeCloudAssistantStatus(
      new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, instanceId: [agent.instanceId] }),
    );
    return (
      body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.[0]?.cloudAssistantStatus ?? ''
    );
  }

  it('ends a task it cannot journal with a clear error, keeps serving, and runs tasks again once space returns', async () => {
    expect(await runToEnd('echo before')).toMatchObject({ invocationStatus: 'Success', output: 'before\n' });
    const filler = join(stateDir, 'filler');
    fillDisk(filler);

    // Larger than a page: the journal's last page cannot hold its record, however full it is.
    const refused = await runToEnd(`echo never # ${'x'.repeat(10_000)}`);
    expect(refused).toMatchObject({ invocationStatus: 'Error', errorCode: 'ExecutionException' });
    expect(refused?.errorInfo).toMatch(
      /cannot record the task in its journal \(ENOSPC: no space left on device/,
    );
    expect(agent.child.exitCode).toBeNull();
    expect(await online()).toBe('true');

    // Rewrites of the journal failed on the full disk, leaving no part of a file behind.
    expect(await readdir(stateDir)).not.toContain('journal.log.compacting');

    await rm(filler);
    expect(await runToEnd('echo after')).toMatchObject({ invocationStatus: 'Success', output: 'after\n' });
    // With space back, finished runs' scripts leave the journal again.
    await waitFor(
      'the finished scripts to leave the journal',
      async () =>
        (await readFile(join(stateDir, 'journal.log'), 'latin1')).includes('echo after') ? undefined : true,
      30_000,
    );
  }, 60_000);
});
