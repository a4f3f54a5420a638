import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type Containerd, startContainerd } from '../helpers/containerd.js';
import { waitFor } from '../helpers/deadline.js';
import { type Podman, startPodman } from '../helpers/podman.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
let podman: Podman;
let server: ServerProcess;
let client: EcsClient;
let agent: AgentProcess;
let oldAgent: AgentProcess;
let containerId: string;
let containerName: string;

async function startAgent(env: Record<string, string>): Promise<AgentProcess> {
  const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
  return startAgentProcess({
    serverUrl: server.url,
    activationId: body?.activationId ?? '',
    activationCode: body?.activationCode ?? '',
    env: { DOCKER_HOST: `unix://${podman.socket}`, ...env },
  });
}

beforeAll(async () => {
  podman = await startPodman();
  containerName = `oa-test-${randomBytes(4).toString('hex')}`;
  containerId = await podman.startContainer(containerName);
  server = await startServerProcess();
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  agent = await startAgent({});
  oldAgent = await startAgent({ OPENASSIST_TEST_AGENT_VERSION: '0.2.0' });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await oldAgent?.stop();
  await server?.stop();
  await podman?.stop();
});

async function runIn(fields: Record<string, unknown>, script: string, instanceId = agent.instanceId) {
  const { body } = await client.runCommand(
    new Ecs.RunCommandRequest({
      regionId: region,
      type: 'RunShellScript',
      commandContent: script,
      instanceId: [instanceId],
      ...fields,
    }),
  );
  return body?.invokeId ?? '';
}

async function resultOf(invokeId: string) {
  const { body } = await client.describeInvocationResults(
    new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId, contentEncoding: 'PlainText' }),
  );
  return body?.invocation?.invocationResults?.invocationResult?.[0];
}

const finished = (invokeId: string, timeoutMs = 30_000) =>
  waitFor(
    `${invokeId} to finish`,
    async () => {
      const result = await resultOf(invokeId);
      return result && !['Pending', 'Running', 'Stopping'].includes(result.invocationStatus ?? '')
        ? result
        : undefined;
    },
    timeoutMs,
  );

/** The container's processes other than its init and the ps itself. */
async function leftovers(): Promise<string[]> {
  const ps = await podman.podman('exec', containerName, 'ps', '-o', 'pid,args');
  return ps
    .split('\n')
    .slice(1)
    .filter((line) => !/catatonit|sleep 2147483647|ps -o/.test(line));
}

describe('scripts in containers over the Docker Engine API (podman)', () => {
  it('runs in the container by id, merging stdout and stderr, with the exit code', async () => {
    const result = await finished(
      await runIn({ containerId }, 'echo "in $(hostname)"; echo err >&2; test -x /bin/busybox && exit 3'),
    );
    expect(result).toMatchObject({
      invocationStatus: 'Failed',
      exitCode: 3,
      errorCode: 'ExitCodeNonzero',
      output: `in ${containerId.slice(0, 12)}\nerr\n`,
      containerId,
    });
  });

  it('finds the container by name, and by a docker:// id', async () => {
    const byName = await finished(await runIn({ containerName }, 'echo by name'));
    expect(byName).toMatchObject({ invocationStatus: 'Success', output: 'by name\n', containerName });
    const byPrefix = await finished(await runIn({ containerId: `docker://${containerId}` }, 'echo prefixed'));
    expect(byPrefix).toMatchObject({ invocationStatus: 'Success', output: 'prefixed\n' });
  });

  it('runs as the container’s default user in its default directory, whatever Username and WorkingDir say', async () => {
    const result = await finished(
      await runIn({ containerId, username: 'nobody', workingDir: '/tmp' }, 'id -u; pwd'),
    );
    expect(result).toMatchObject({ invocationStatus: 'Success', output: '0\n/\n' });
  });

  it('ends a run at its timeout and leaves no process behind in the container', async () => {
    const result = await finished(await runIn({ containerId, timeout: 10 }, 'sleep 300 & sleep 300'), 40_000);
    expect(result).toMatchObject({ invocationStatus: 'Timeout', errorCode: 'ExecutionTimeout' });
    expect(
      await waitFor('the container to be clean', async () =>
        (await leftovers()).length === 0 ? true : undefined,
      ),
    ).toBe(true);
  }, 60_000);

  it('stops a run on StopInvocation', async () => {
    const invokeId = await runIn({ containerId }, 'echo started; sleep 300');
    await waitFor('the run to start', async () =>
      (await resultOf(invokeId))?.output === 'started\n' ? true : undefined,
    );
    await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
    expect(await finished(invokeId)).toMatchObject({ invocationStatus: 'Terminated' });
    expect(
      await waitFor('the container to be clean', async () =>
        (await leftovers()).length === 0 ? true : undefined,
      ),
    ).toBe(true);
  });

  it('says so when the container does not exist or is not running', async () => {
    const missing = await finished(await runIn({ containerId: 'f'.repeat(64) }, 'true'));
    expect(missing).toMatchObject({
      invocationStatus: 'Failed',
      errorCode: 'ContainerNotExists',
      errorInfo: 'the specified container does not exists',
    });
    const stoppedName = `${containerName}-stopped`;
    await podman.startContainer(stoppedName);
    await podman.podman('stop', '-t', '0', stoppedName);
    const stopped = await finished(await runIn({ containerName: stoppedName }, 'true'));
    expect(stopped).toMatchObject({ invocationStatus: 'Failed', errorCode: 'ContainerNotRunning' });
  });
});

describe('scripts in containers over the Kubernetes CRI (containerd)', () => {
  let containerd: Containerd;
  let criAgent: AgentProcess;

  beforeAll(async () => {
    containerd = await startContainerd(`oa-cri-${randomBytes(4).toString('hex')}`);
    // No Docker API here: a ContainerName without a runtime prefix must find the CRI socket.
    criAgent = await startAgent({
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      CONTAINER_RUNTIME_ENDPOINT: `unix://${containerd.socket}`,
    });
  }, 60_000);

  afterAll(async () => {
    await criAgent?.stop();
    await containerd?.stop();
  });

  // Live processes besides the container's own: a pod container's PID 1 (sleep) reaps nothing, so
  // killed processes linger as zombies (state Z), which are dead already.
  const criLeftovers = async () => {
    const ps = await containerd.cri.exec(containerd.containerId, ['ps', '-o', 'pid,stat,args'], 5, 10_000);
    return ps.stdout
      .toString()
      .split('\n')
      .slice(1)
      .filter((line) => line.trim() && !/^\s*\d+\s+Z|sleep 2147483647|ps -o/.test(line));
  };

  it('runs in the container named by a containerd:// id, with merged output and the exit code', async () => {
    const result = await finished(
      await runIn(
        { containerId: `containerd://${containerd.containerId}` },
        'echo out; echo err >&2; test -x /bin/busybox && exit 3',
        criAgent.instanceId,
      ),
    );
    expect(result).toMatchObject({ invocationStatus: 'Failed', exitCode: 3, output: 'out\nerr\n' });
  });

  it('finds the container by its CRI name', async () => {
    const result = await finished(
      await runIn({ containerName: containerd.containerName }, 'echo "$(id -u) $PWD"', criAgent.instanceId),
    );
    expect(result).toMatchObject({ invocationStatus: 'Success', output: '0 /\n' });
  });

  it('ends a run at its timeout and on StopInvocation, leaving no process behind', async () => {
    const timedOut = await finished(
      await runIn(
        { containerId: `containerd://${containerd.containerId}`, timeout: 10 },
        'sleep 300 & sleep 300',
        criAgent.instanceId,
      ),
      40_000,
    );
    expect(timedOut).toMatchObject({ invocationStatus: 'Timeout', errorCode: 'ExecutionTimeout' });
    expect(
      await waitFor('no leftovers', async () => ((await criLeftovers()).length === 0 ? true : undefined)),
    ).toBe(true);
    const invokeId = await runIn(
      { containerId: `containerd://${containerd.containerId}` },
      'sleep 300',
      criAgent.instanceId,
    );
    await waitFor('the run to start', async () => ((await criLeftovers()).length > 0 ? true : undefined));
    await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
    expect(await finished(invokeId)).toMatchObject({ invocationStatus: 'Terminated' });
    expect(
      await waitFor('no leftovers', async () => ((await criLeftovers()).length === 0 ? true : undefined)),
    ).toBe(true);
  }, 60_000);

  it('says so when the container does not exist', async () => {
    const result = await finished(
      await runIn({ containerId: `containerd://${'e'.repeat(64)}` }, 'true', criAgent.instanceId),
    );
    expect(result).toMatchObject({ invocationStatus: 'Failed', errorCode: 'ContainerNotExists' });
  });
});

describe('container rules (the seed)', () => {
  it.each([
    ['a short id', { containerId: 'abc123' }, 'InvalidContainerId.Malformed'],
    ['an unknown runtime prefix', { containerId: `rkt://${'a'.repeat(64)}` }, 'InvalidContainerId.Malformed'],
    ['a name with a slash', { containerName: 'web/1' }, 'InvalidContainerName.Malformed'],
  ])('refuses %s', async (_what, fields, code) => {
    await expectApiError(runIn(fields, 'true'), code, 400);
  });

  it('refuses a #! interpreter line on that instance (Invalid, CommandNotApplicable), sending nothing', async () => {
    const result = await resultOf(await runIn({ containerId }, '#!/usr/bin/python3\nprint(1)'));
    expect(result).toMatchObject({ invocationStatus: 'Invalid', errorCode: 'CommandNotApplicable' });
    expect(result?.errorInfo).toMatch(/^the command is not applicable: .*#! line/);
  });

  it('asks an agent older than the container feature to upgrade (ClientNeedUpgrade)', async () => {
    const result = await resultOf(await runIn({ containerId }, 'true', oldAgent.instanceId));
    expect(result).toMatchObject({ invocationStatus: 'Invalid', errorCode: 'ClientNeedUpgrade' });
  });
});
