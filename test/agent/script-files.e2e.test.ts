import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { v3Raw } from '../helpers/raw-client.js';
import { Ecs } from '../helpers/sdk.js';

const region = 'cn-hangzhou';
const secret = `script-secret-${Date.now().toString(36)}`;

/** Every file below `dir` whose content holds `text`. */
async function filesHolding(dir: string, text: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const content = await readFile(path).catch(() => Buffer.alloc(0)); // a file removed meanwhile
    if (content.includes(text)) found.push(path);
  }
  return found;
}

describe('a resolved secret does not stay in the work dir', () => {
  let fleet: Fleet;
  let restarted: AgentProcess | undefined;

  beforeAll(async () => {
    fleet = await startFleet();
    const { server } = fleet;
    const created = await v3Raw({
      url: server.url,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
      action: 'CreateSecretParameter',
      params: { Name: 'script-password', Value: secret },
      extraHeaders: { 'x-acs-version': '2019-06-01' },
    });
    expect(created.status).toBe(200);
  });

  afterAll(async () => {
    await restarted?.stop();
    await fleet?.stop();
  });

  it('removes the script file while the script runs, and a crashed agent leaves none behind', async () => {
    const { client, agent } = fleet;
    const workDir = join(agent.stateDir, 'work');
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: `: '{{oos-secret:script-password}}'; echo started; sleep 600`,
        contentEncoding: 'PlainText',
        timeout: 900,
        instanceId: [agent.instanceId],
      }),
    );
    const invokeId = body?.invokeId ?? '';
    await waitFor(
      'the script to start',
      async () => {
        const { body: results } = await client.describeInvocationResults(
          new Ecs.DescribeInvocationResultsRequest({
            regionId: region,
            invokeId,
            contentEncoding: 'PlainText',
          }),
        );
        const output = results?.invocation?.invocationResults?.invocationResult?.[0]?.output ?? '';
        return output.includes('started') ? true : undefined;
      },
      30_000,
    );
    // The shell has the script open: its file is gone already.
    expect(await filesHolding(workDir, secret)).toEqual([]);

    // A crash (the script keeps running, orphaned) and a file an older agent left behind.
    await agent.stop('SIGKILL');
    const stale = join(workDir, 'scripts', 't-left-by-a-crash.sh');
    await mkdir(join(workDir, 'scripts'), { recursive: true });
    await writeFile(stale, `echo ${secret}\n`, { mode: 0o700 });

    restarted = await startAgentProcess({ serverUrl: fleet.server.url, stateDir: agent.stateDir });
    expect(await filesHolding(workDir, secret)).toEqual([]);
    expect(await readdir(join(workDir, 'scripts'))).toEqual([]);
    const result = await waitFor(
      'the interrupted run to be reported',
      async () => {
        const { body: results } = await client.describeInvocationResults(
          new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId }),
        );
        const row = results?.invocation?.invocationResults?.invocationResult?.[0];
        return row?.invocationStatus === 'Running' ? undefined : row;
      },
      30_000,
    );
    expect(result?.errorCode).toBe('ExecutionInterrupted');
  });
});
