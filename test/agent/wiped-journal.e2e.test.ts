import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalPath } from '../../src/agent/journal.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { Ecs } from '../helpers/sdk.js';

const region = 'cn-hangzhou';

describe('a real agent whose journal was wiped while a run was in flight', () => {
  let fleet: Fleet;
  let restarted: AgentProcess | undefined;

  beforeAll(async () => {
    fleet = await startFleet();
  });

  afterAll(async () => {
    await restarted?.stop();
    await fleet?.stop();
  });

  it('comes back holding nothing, and the server ends the run Error / ExecutionLost instead of Running forever', async () => {
    const { client, agent } = fleet;
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        // The script ends by itself soon after the test, so a crash leaves no long orphan behind.
        commandContent: 'echo started; sleep 45',
        contentEncoding: 'PlainText',
        timeout: 600,
        instanceId: [agent.instanceId],
      }),
    );
    const invokeId = body?.invokeId ?? '';
    const resultRow = async () => {
      const { body: results } = await client.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({
          regionId: region,
          invokeId,
          contentEncoding: 'PlainText',
        }),
      );
      return results?.invocation?.invocationResults?.invocationResult?.[0];
    };
    await waitFor(
      'the script to start',
      async () => ((await resultRow())?.output?.includes('started') ? true : undefined),
      30_000,
    );

    await agent.stop('SIGKILL');
    const journal = journalPath(agent.stateDir);
    await rm(journal, { force: true });

    restarted = await startAgentProcess({ serverUrl: fleet.server.url, stateDir: agent.stateDir });
    const ended = await waitFor(
      'the lost run to end',
      async () => {
        const row = await resultRow();
        return row?.invocationStatus === 'Running' ? undefined : row;
      },
      30_000,
    );
    expect(ended?.invocationStatus).toBe('Error');
    expect(ended?.errorCode).toBe('ExecutionLost');
  });
});
