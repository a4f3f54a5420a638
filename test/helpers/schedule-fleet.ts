import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentProcess, startAgentProcess } from './agent-process.js';
import { waitFor } from './deadline.js';
import { Ecs, type EcsClient, ecsClient } from './sdk.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

export const region = 'cn-hangzhou';

/**
 * One server on a data dir of its own (so it can be restarted), any number of real agents with
 * state dirs kept across their restarts, and the SDK calls the schedule tests make.
 */
export class ScheduleFleet {
  server!: ServerProcess;
  client!: EcsClient;
  private dataDir = '';
  private readonly agents: AgentProcess[] = [];
  private readonly stateDirs: string[] = [];

  async start(): Promise<void> {
    this.dataDir = await mkdtemp(join(tmpdir(), 'openassist-schedule-server-'));
    this.server = await startServerProcess({ dataDir: this.dataDir });
    this.client = ecsClient(this.server.endpoint, this.server.accessKeyId, this.server.accessKeySecret);
  }

  /** Stops the server and starts it again on the same data dir, port and key. */
  readonly restartServer = async (whileDown: () => Promise<void>): Promise<void> => {
    const listen = this.server.endpoint;
    const accessKey = { id: this.server.accessKeyId, secret: this.server.accessKeySecret };
    await this.server.stop();
    await whileDown();
    this.server = await startServerProcess({ dataDir: this.dataDir, listen, accessKey });
    this.client = ecsClient(this.server.endpoint, this.server.accessKeyId, this.server.accessKeySecret);
  };

  async stop(): Promise<void> {
    for (const agent of this.agents) await agent.stop();
    await this.server?.stop();
    for (const dir of [...this.stateDirs, this.dataDir]) await rm(dir, { recursive: true, force: true });
  }

  /** Registers and starts one more real agent (its own state dir and environment). */
  readonly newAgent = async (env: Record<string, string> = {}): Promise<AgentProcess> => {
    const { body } = await this.client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: region }),
    );
    const stateDir = await mkdtemp(join(tmpdir(), 'openassist-schedule-agent-'));
    this.stateDirs.push(stateDir);
    const agent = await startAgentProcess({
      serverUrl: this.server.url,
      activationId: body?.activationId ?? '',
      activationCode: body?.activationCode ?? '',
      env,
      stateDir,
    });
    this.agents.push(agent);
    return agent;
  };

  /** The same agent again (same state dir, given environment): a restart. */
  readonly restart = async (agent: AgentProcess, env: Record<string, string>): Promise<AgentProcess> => {
    await agent.stop();
    const again = await startAgentProcess({ serverUrl: this.server.url, stateDir: agent.stateDir, env });
    this.agents.push(again);
    return again;
  };

  /** RunCommand with a 10 s timeout; returns the InvokeId. */
  readonly run = async (
    instanceId: string,
    script: string,
    fields: Record<string, unknown>,
  ): Promise<string> => {
    const { body } = await this.client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: script,
        instanceId: [instanceId],
        timeout: 10,
        ...fields,
      }),
    );
    return body?.invokeId ?? '';
  };

  readonly results = async (invokeId: string, includeHistory: boolean) => {
    const { body } = await this.client.describeInvocationResults(
      new Ecs.DescribeInvocationResultsRequest({
        regionId: region,
        invokeId,
        includeHistory,
        contentEncoding: 'PlainText',
        pageSize: 50,
      }),
    );
    return body?.invocation?.invocationResults?.invocationResult ?? [];
  };

  readonly invocation = async (invokeId: string) => {
    const { body } = await this.client.describeInvocations(
      new Ecs.DescribeInvocationsRequest({ regionId: region, invokeId, contentEncoding: 'PlainText' }),
    );
    return body?.invocations?.invocation?.[0];
  };

  /** Polls until the invocation's aggregate status is one of `statuses`. */
  readonly statusOf = (invokeId: string, statuses: readonly string[], timeoutMs = 30_000) =>
    waitFor(
      `${invokeId} to be ${statuses.join(' or ')}`,
      async () => {
        const status = (await this.invocation(invokeId))?.invocationStatus ?? '';
        return statuses.includes(status) ? status : undefined;
      },
      timeoutMs,
    );

  readonly stopInvocation = (invokeId: string) =>
    this.client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
}
