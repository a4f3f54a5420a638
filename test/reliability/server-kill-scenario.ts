import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { journalSettled, readJournal } from '../helpers/agent-journal.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import type { Backend } from '../helpers/backends.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

/**
 * The server is SIGKILLed while invocations pour in, and restarted on the same address and data.
 * Every invocation whose RunCommand returned must exist and end Success with its script run exactly
 * once on each of its instances (or, never delivered, Aborted and run nowhere); no script runs twice.
 */
export interface ServerKillSize {
  readonly agents: number;
  /** RunCommand calls; each targets `instancesPerCall` agents, round robin. */
  readonly calls: number;
  readonly instancesPerCall: number;
  /** Calls in flight at once. */
  readonly concurrency: number;
}

export interface ServerKillFigures {
  readonly agentsStartMs: number;
  readonly recorded: number;
  readonly lostCalls: number;
  readonly unacknowledgedAtKill: number;
  readonly runs: number;
  readonly settleMs: number;
  readonly totalMs: number;
}

const region = 'cn-hangzhou';
const finalInvocationStatuses = ['Success', 'Failed', 'Stopped', 'PartialFailed'];

export async function serverKillScenario(
  backend: Backend,
  size: ServerKillSize,
  scratch: string,
): Promise<ServerKillFigures> {
  const began = Date.now();
  // A long delivery timeout: runs waiting out the outage are delivered, not aborted, on a slow machine.
  const env = { OPENASSIST_DELIVERY_TIMEOUT_S: '600' };
  const dataDir = join(scratch, 'server');
  let server: ServerProcess = await startServerProcess({ databaseUrl: backend.databaseUrl, dataDir, env });
  const accessKey = { id: server.accessKeyId, secret: server.accessKeySecret };
  const client: EcsClient = ecsClient(server.endpoint, accessKey.id, accessKey.secret);
  const agents: AgentProcess[] = [];
  try {
    const { body } = await client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: region, instanceCount: size.agents }),
    );
    const agentsAt = Date.now();
    agents.push(
      ...(await Promise.all(
        Array.from({ length: size.agents }, (_, index) =>
          startAgentProcess({
            serverUrl: server.url,
            activationId: body?.activationId ?? '',
            activationCode: body?.activationCode ?? '',
            stateDir: join(scratch, `agent-${index}`),
          }),
        ),
      )),
    );
    const agentsStartMs = Date.now() - agentsAt;
    const runsDir = scratch;
    // Each run appends its invocation's id to its agent's own file.
    const script = `echo {{ACS::InvokeId}} >> ${runsDir}/runs-{{ACS::InstanceId}}`;

    const targeted = new Map<string, string[]>();
    let lostCalls = 0;
    let next = 0;
    let killed = false;
    const killAfter = Math.floor(size.calls / 2);
    const call = async (index: number): Promise<void> => {
      const instanceId = Array.from(
        { length: size.instancesPerCall },
        (_, offset) => agents[(index * size.instancesPerCall + offset) % agents.length]?.instanceId ?? '',
      );
      try {
        const { body: answer } = await client.runCommand(
          new Ecs.RunCommandRequest({
            regionId: region,
            type: 'RunShellScript',
            commandContent: script,
            instanceId,
          }),
        );
        if (answer?.invokeId) targeted.set(answer.invokeId, instanceId);
      } catch {
        // Cut off by the kill: the client never learnt the id; whatever the server kept is checked below.
        if (!killed) throw new Error(`RunCommand ${index} failed before the kill`);
        lostCalls++;
      }
    };
    // Calls flow until half have returned; the server dies with the next ones in flight.
    const killedAt = new Promise<void>((resolve) => {
      const worker = async () => {
        while (!killed && next < size.calls) {
          await call(next++);
          if (targeted.size >= killAfter && !killed) {
            killed = true;
            server.child.kill('SIGKILL');
            resolve();
          }
        }
      };
      void Promise.all(Array.from({ length: size.concurrency }, worker));
    });
    await killedAt;
    await server.stop();
    // What the agents held unreported when the server died: the kill hit work in flight.
    const unacknowledgedAtKill = agents.reduce(
      (sum, agent) => sum + readJournal(agent.stateDir).unacknowledged,
      0,
    );
    await waitFor('the in-flight calls to fail', () =>
      next - targeted.size - lostCalls <= 0 ? true : undefined,
    );
    server = await startServerProcess({
      databaseUrl: backend.databaseUrl,
      dataDir,
      env,
      listen: server.endpoint,
      accessKey,
    });
    // The rest go to the restarted server.
    while (next < size.calls) await call(next++);

    const settleAt = Date.now();
    const statuses = await waitFor(
      'every invocation the server holds to end',
      async () => {
        const all = await describeAllInvocations(client);
        return [...all.values()].every((status) => finalInvocationStatuses.includes(status))
          ? all
          : undefined;
      },
      180_000,
    );
    for (const invokeId of targeted.keys()) expect(statuses.has(invokeId), invokeId).toBe(true);
    await waitFor(
      'every agent to settle its journal',
      () => (agents.every((agent) => journalSettled(agent.stateDir)) ? true : undefined),
      60_000,
    );
    const settleMs = Date.now() - settleAt;

    const ranOn = new Map<string, string[]>();
    for (const file of (await readdir(runsDir)).filter((name) => name.startsWith('runs-'))) {
      ranOn.set(
        file.slice('runs-'.length),
        (await readFile(join(runsDir, file), 'utf8')).split('\n').filter(Boolean),
      );
    }
    // No script ran twice on any agent, recorded call or not.
    for (const [instanceId, lines] of ranOn) expect(lines.length, instanceId).toBe(new Set(lines).size);
    let runs = 0;
    for (const [invokeId, instanceIds] of targeted) {
      const rows = await resultsOf(client, invokeId);
      for (const instanceId of instanceIds) {
        const row = rows.find((result) => result.instanceId === instanceId);
        const times = (ranOn.get(instanceId) ?? []).filter((line) => line === invokeId).length;
        if (row?.invocationStatus === 'Aborted')
          expect({ times, code: row.errorCode }).toEqual({ times: 0, code: 'ClientNotResponse' });
        else
          expect({ status: row?.invocationStatus, times }, `${invokeId} on ${instanceId}`).toEqual({
            status: 'Success',
            times: 1,
          });
        runs++;
      }
    }
    return {
      agentsStartMs,
      recorded: targeted.size,
      lostCalls,
      unacknowledgedAtKill,
      runs,
      settleMs,
      totalMs: Date.now() - began,
    };
  } finally {
    await Promise.all(agents.map((agent) => agent.stop()));
    await server.stop();
  }
}

/** Every invocation on the server with its status, page by page. */
async function describeAllInvocations(client: EcsClient): Promise<Map<string, string>> {
  const all = new Map<string, string>();
  for (let page = 1; ; page++) {
    const { body } = await client.describeInvocations(
      new Ecs.DescribeInvocationsRequest({ regionId: region, pageNumber: page, pageSize: 50 }),
    );
    const invocations = body?.invocations?.invocation ?? [];
    for (const invocation of invocations)
      all.set(invocation.invokeId ?? '', invocation.invocationStatus ?? '');
    if (invocations.length < 50) return all;
  }
}

async function resultsOf(client: EcsClient, invokeId: string) {
  const { body } = await client.describeInvocationResults(
    new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId, pageSize: 50 }),
  );
  return body?.invocation?.invocationResults?.invocationResult ?? [];
}
