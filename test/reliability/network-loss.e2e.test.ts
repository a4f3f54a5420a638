import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalSettled, readJournal } from '../helpers/agent-journal.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type CuttableLink, startCuttableLink } from '../helpers/cuttable-link.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// The link between an agent and its server is cut like a pulled cable: neither end is told. The
// server must show the agent offline within three heartbeats, and a result the agent produced
// meanwhile must arrive once the link is back, exactly once.
const region = 'cn-hangzhou';
const heartbeatSeconds = 2;

let server: ServerProcess;
let client: EcsClient;
let link: CuttableLink;
let agent: AgentProcess;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'openassist-network-loss-'));
  server = await startServerProcess({ env: { OPENASSIST_HEARTBEAT_S: String(heartbeatSeconds) } });
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  const { port } = new URL(server.url);
  link = await startCuttableLink({ host: '127.0.0.1', port: Number(port) });
  const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
  agent = await startAgentProcess({
    serverUrl: link.url,
    activationId: body?.activationId ?? '',
    activationCode: body?.activationCode ?? '',
  });
});

afterAll(async () => {
  await agent?.stop();
  await link?.close();
  expect(await server?.stop()).toBe(0);
  await rm(scratch, { recursive: true, force: true });
});

async function online(): Promise<string> {
  const { body } = await client.describeCloudAssistantStatus(
    new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, instanceId: [agent.instanceId] }),
  );
  return body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.[0]?.cloudAssistantStatus ?? '';
}

async function resultOf(invokeId: string) {
  const { body } = await client.describeInvocationResults(
    new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId, contentEncoding: 'PlainText' }),
  );
  return body?.invocation?.invocationResults?.invocationResult ?? [];
}

describe('network loss between agent and server', () => {
  it('shows the agent offline within three heartbeats, then delivers what ran meanwhile once the link is back', async () => {
    const go = join(scratch, 'go');
    const ran = join(scratch, 'ran');
    // Starts before the cut, produces its result during it (when the test creates `go`).
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: `until [ -e ${go} ]; do sleep 0.1; done; echo {{ACS::InvokeId}} >> ${ran}; echo produced-offline`,
        instanceId: [agent.instanceId],
        timeout: 120,
      }),
    );
    const invokeId = body?.invokeId ?? '';
    await waitFor('the run to start', async () =>
      (await resultOf(invokeId))[0]?.invocationStatus === 'Running' ? true : undefined,
    );
    expect(await online()).toBe('true');

    link.cut();
    const cutAt = Date.now();
    await waitFor('the agent to show offline', async () => ((await online()) === 'false' ? true : undefined));
    const offlineAfterMs = Date.now() - cutAt;
    // Offline once three beats are missed: at most three heartbeats after the cut (the last beat may
    // have crossed just before it), plus the poll's step and the call that observes it.
    expect(offlineAfterMs).toBeLessThanOrEqual(3 * heartbeatSeconds * 1000 + 1_000);

    await writeFile(go, '');
    await waitFor('the result to be produced while cut off', () =>
      readJournal(agent.stateDir).pendingFinished(invokeId) === 1 ? true : undefined,
    );
    expect((await resultOf(invokeId))[0]?.invocationStatus).toBe('Running');

    link.restore();
    const restoredAt = Date.now();
    await waitFor(
      'the agent to show online again',
      async () => ((await online()) === 'true' ? true : undefined),
      60_000,
    );
    const onlineAfterMs = Date.now() - restoredAt;
    const row = await waitFor('the result to arrive', async () => {
      const [result] = await resultOf(invokeId);
      return result?.invocationStatus === 'Success' ? result : undefined;
    });
    expect(row).toMatchObject({ exitCode: 0, output: 'produced-offline\n', dropped: 0 });
    await waitFor('the agent to settle its journal', () => journalSettled(agent.stateDir));
    expect((await readFile(ran, 'utf8')).split('\n').filter(Boolean)).toEqual([invokeId]);
    expect(existsSync(go)).toBe(true);
    console.log(
      `heartbeat ${heartbeatSeconds} s: offline ${offlineAfterMs} ms after the cut, online ${onlineAfterMs} ms after the restore`,
    );
  }, 90_000);
});
