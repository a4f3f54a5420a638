import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentExecutableName, buildAgentExecutable } from '../../src/agent/executable/build.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient, finishedResult, invocationResults } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { createTestRoot, type TestRoot } from '../helpers/test-root.js';

const region = 'cn-hangzhou';
const inside = '/usr/local/bin/openassist-agent';
const stateDir = '/var/lib/openassist';
const packageVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** An agent executable started in the root: its output so far and its exit. */
interface RootAgent {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  readonly instanceId: string;
}

// A machine without Node.js: a chroot holding the executable, the libraries ldd lists for it,
// busybox and CA files only. The agent in it registers, runs scripts, survives kill -9 and runs a schedule.
describe('the agent executable on a machine without Node.js', () => {
  let scratch: string;
  let server: ServerProcess;
  let client: EcsClient;
  let root: TestRoot;
  let activation: { id: string; code: string };
  let agent: RootAgent;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'openassist-executable-'));
    // `npm run build` made it; without one, the test builds its own from the sources.
    const built = new URL(`../../dist/agent/${agentExecutableName()}`, import.meta.url).pathname;
    const executable = existsSync(built)
      ? built
      : (await buildAgentExecutable({ outDir: join(scratch, 'build') })).path;
    [server, root] = await Promise.all([
      startServerProcess(),
      createTestRoot(join(scratch, 'root'), { files: { [inside]: executable } }),
    ]);
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: region, instanceCount: 1 }),
    );
    activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
  }, 60_000);

  afterAll(async () => {
    await root?.dispose();
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  /** Starts the executable in the root; resolves once it prints `connected as mi-…`. */
  async function startAgent(register: boolean): Promise<RootAgent> {
    const args = ['--server', server.url, '--state-dir', stateDir];
    if (register) args.push('--activation-id', activation.id);
    // The Docker API socket is the fake one in the root (see the container test).
    const env: Record<string, string> = { DOCKER_HOST: 'unix:///run/docker.sock' };
    if (register) env.OPENASSIST_ACTIVATION_CODE = activation.code;
    const child = root.spawn(inside, args, { env });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const instanceId = await waitFor(
      'the agent in the root to connect',
      () => {
        const id = /connected as (mi-[0-9a-f]+)/.exec(output)?.[1];
        if (!id && child.exitCode !== null) throw new Error(`agent exited (${child.exitCode}): ${output}`);
        return id;
      },
      30_000,
    );
    return { child, output: () => output, exited, instanceId };
  }

  async function run(script: string, fields: Record<string, unknown> = {}): Promise<string> {
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: script,
        instanceId: [agent.instanceId],
        ...fields,
      }),
    );
    return body?.invokeId ?? '';
  }

  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    } catch {
      return false;
    }
  };

  it('registers through an activation and runs a script there, reporting the built version', async () => {
    agent = await startAgent(true);
    const invokeId = await run('grep ^ID= /etc/os-release; command -v node || echo no node here; echo done');
    const row = await finishedResult(client, invokeId);
    expect(row).toMatchObject({ invocationStatus: 'Success', exitCode: 0 });
    expect(row.output).toBe('ID=openassist-test-root\nno node here\ndone\n');
    const { body } = await client.describeCloudAssistantStatus(
      new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, instanceId: [agent.instanceId] }),
    );
    const status = body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.[0];
    expect(status).toMatchObject({ cloudAssistantStatus: 'true', cloudAssistantVersion: packageVersion });
    // The activation code went through the environment: it is nowhere in the root's state dir.
    const { stdout } = await root.run('/bin/grep', ['-rl', activation.code, stateDir]);
    expect(stdout).toBe('');
  }, 60_000);

  it('survives kill -9 mid-run: the run ends ExecutionInterrupted once, never runs twice', async () => {
    const invokeId = await run('echo run >> /root/ran; sleep 300 & echo $! > /root/orphan; wait');
    await waitFor(
      'the run to start',
      async () =>
        (await invocationResults(client, invokeId))[0]?.invocationStatus === 'Running' ? true : undefined,
      30_000,
    );
    const orphanFile = join(root.root, 'root/orphan');
    await waitFor('the script to write its pid', () =>
      readFile(orphanFile, 'utf8').then(
        (text) => (text.trim() ? true : undefined),
        () => undefined,
      ),
    );
    const killed = agent;
    killed.child.kill('SIGKILL');
    expect(await killed.exited).toBeNull();
    agent = await startAgent(false);
    expect(agent.instanceId).toBe(killed.instanceId);
    expect(await finishedResult(client, invokeId)).toMatchObject({
      invocationStatus: 'Error',
      errorCode: 'ExecutionInterrupted',
    });
    // A run delivered after it comes back in order: had the interrupted one been sent again, it ran by now.
    expect(await finishedResult(client, await run('echo after'))).toMatchObject({
      invocationStatus: 'Success',
    });
    expect((await readFile(join(root.root, 'root/ran'), 'utf8')).split('\n')).toEqual(['run', '']);
    // What the killed agent left running was ended by the restarted one.
    const orphan = Number(await readFile(join(root.root, 'root/orphan'), 'utf8'));
    expect(orphan).toBeGreaterThan(1); // a pid that was read, never 0 or NaN (alive() would pass at once)
    await waitFor('the orphaned script to end', () => (alive(orphan) ? undefined : true), 15_000);
  }, 60_000);

  it('loads the container runners on first use (Docker API, CRI), from inside the executable', async () => {
    // A Docker Engine API that knows no container, on the socket the agent is pointed at.
    const asked: string[] = [];
    const docker = createServer((request, response) => {
      asked.push(`${request.method} ${request.url}`);
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'No such container' }));
    });
    await new Promise<void>((resolve) => docker.listen(join(root.root, 'run/docker.sock'), resolve));
    try {
      const id = 'f'.repeat(64);
      const row = await finishedResult(client, await run('true', { containerId: `docker://${id}` }));
      expect(row).toMatchObject({
        invocationStatus: 'Failed',
        errorCode: 'ContainerNotExists',
      });
      expect(asked.some((line) => line.startsWith('GET ') && line.includes(`/containers/${id}/json`))).toBe(
        true,
      );
    } finally {
      await new Promise((resolve) => docker.close(resolve));
    }
    // No CRI socket here: the gRPC client, loaded for this run, says it cannot connect (gRPC's own words).
    const cri = await finishedResult(
      client,
      await run('true', { containerId: `containerd://${'e'.repeat(64)}` }),
    );
    expect(cri).toMatchObject({ invocationStatus: 'Error', errorCode: 'ExecutionException' });
    expect(cri.errorInfo).toMatch(/14 UNAVAILABLE: .*connect ENOENT \/run\/containerd\/containerd\.sock/);
  }, 60_000);

  it('runs a schedule and reports each of its runs', async () => {
    // A run may last as long as the interval between two (10 s, the shortest timeout).
    const invokeId = await run('echo tick', {
      repeatMode: 'Period',
      frequency: '0/10 * * * * ?',
      timeout: 10,
    });
    const runs = await waitFor(
      'two scheduled runs reported',
      async () => {
        const rows = (await invocationResults(client, invokeId, true)).filter(
          (row) => row.invocationStatus === 'Success',
        );
        return rows.length >= 2 ? rows : undefined;
      },
      40_000,
    );
    for (const row of runs) expect(row).toMatchObject({ output: 'tick\n', exitCode: 0 });
    await client.stopInvocation(
      new Ecs.StopInvocationRequest({ regionId: region, invokeId, instanceId: [agent.instanceId] }),
    );
  }, 60_000);
});
