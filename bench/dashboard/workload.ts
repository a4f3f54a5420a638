import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ecs, type EcsClient } from '../sdk.js';
import { apiOf } from '../stats.js';
import type { Deployment, WebhookReceiver } from './deployments.js';

/** What the workload sent, for the report. */
export interface Tally {
  calls: number;
  /** Calls answered with an error: most on purpose (unknown ids), so the error panels have data. */
  errors: number;
  invocations: number;
}

const regionId = 'cn-hangzhou';
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
// Only the real agents' runs carry it: few enough webhook events that the outbox drains once accepted.
const webhookTag = { key: 'notify', value: 'webhook' };

/**
 * A scripted run of operations through the official SDK, paced rather than flat out: runs on real
 * agents that succeed, fail, time out and are stopped; many short runs on memory agents at a rate
 * that rises and falls; a schedule; files; reads; calls with unknown ids; tasks for an agent that
 * is offline (aborted by the delivery timeout); a webhook whose receiver refuses, then accepts.
 */
export async function runWorkload(
  main: Deployment,
  others: readonly Deployment[],
  seconds: number,
  webhook: WebhookReceiver,
): Promise<Tally> {
  await apiOf(main.server)('CreateWebhook', {
    Url: webhook.url,
    Secret: 'dashboard-render-secret',
    TagKey: webhookTag.key,
    TagValue: webhookTag.value,
  });
  const filesDir = await mkdtemp(join(tmpdir(), 'openassist-dashboard-files-'));
  const workload = new Workload(main, seconds);
  try {
    await Promise.all([
      workload.realScripts(),
      workload.memoryRuns(),
      workload.reads(),
      workload.mistakes(),
      workload.offlineTasks(),
      workload.files(filesDir),
      workload.oneOffs(),
      workload.at(0.4, async () => webhook.accept()),
      ...others.map((other) =>
        workload.every(500, () =>
          workload.runShell(other.client, [pick(other.memoryInstanceIds)], 'echo hi'),
        ),
      ),
    ]);
  } finally {
    await rm(filesDir, { recursive: true, force: true });
  }
  return workload.tally;
}

class Workload {
  readonly tally: Tally = { calls: 0, errors: 0, invocations: 0 };
  private readonly startMs = Date.now();
  private readonly endMs: number;
  private readonly realIds: readonly string[];
  private lastInvokeId = '';

  constructor(
    private readonly main: Deployment,
    seconds: number,
  ) {
    this.endMs = this.startMs + seconds * 1000;
    this.realIds = main.agents.map((agent) => agent.instanceId);
  }

  /** Calls `step` until the end, `pacingMs` (or what it returns) apart. */
  async every(pacingMs: number | (() => number), step: () => Promise<unknown>): Promise<void> {
    while (Date.now() < this.endMs) {
      await step();
      await sleep(typeof pacingMs === 'number' ? pacingMs : pacingMs());
    }
  }

  /** Runs `step` once, at this fraction of the workload's length. */
  async at(fraction: number, step: () => Promise<unknown>): Promise<void> {
    await sleep(Math.max(0, this.startMs + fraction * (this.endMs - this.startMs) - Date.now()));
    await step();
  }

  async call<T>(request: Promise<T>): Promise<T | undefined> {
    this.tally.calls += 1;
    try {
      return await request;
    } catch {
      this.tally.errors += 1;
      return undefined;
    }
  }

  async runShell(client: EcsClient, instanceIds: readonly string[], script: string, extra = {}) {
    const response = await this.call(
      client.runCommand(
        new Ecs.RunCommandRequest({
          regionId,
          type: 'RunShellScript',
          contentEncoding: 'PlainText',
          commandContent: script,
          instanceId: [...instanceIds],
          ...extra,
        }),
      ),
    );
    if (response) this.tally.invocations += 1;
    return response?.body?.invokeId;
  }

  /** Mostly quick successes, one in six fails, durations spread over the histogram's buckets. */
  realScripts(): Promise<void> {
    return this.every(600, async () => {
      const sleepS = pick(['0.2', '0.5', '1', '1', '2', '4']);
      const exit = Math.random() < 1 / 6 ? 3 : 0;
      const tag = [new Ecs.RunCommandRequestTag(webhookTag)];
      const script = `sleep ${sleepS}; echo done; exit ${exit}`;
      const invokeId = await this.runShell(this.main.client, [pick(this.realIds)], script, { tag });
      this.lastInvokeId = invokeId ?? this.lastInvokeId;
    });
  }

  /** InvokeCommand on two memory agents at a time, rising to about 10 a second mid-run, then falling. */
  async memoryRuns(): Promise<void> {
    const { client, memoryInstanceIds } = this.main;
    const command = await this.call(
      client.createCommand(
        new Ecs.CreateCommandRequest({
          regionId,
          name: 'dashboard-echo',
          type: 'RunShellScript',
          commandContent: Buffer.from('echo hi').toString('base64'),
        }),
      ),
    );
    const progress = () => (Date.now() - this.startMs) / (this.endMs - this.startMs);
    await this.every(
      () => 100 + 500 * Math.abs(1 - 2 * progress()),
      async () => {
        const instanceId = [pick(memoryInstanceIds), pick(memoryInstanceIds)];
        const request = new Ecs.InvokeCommandRequest({
          regionId,
          commandId: command?.body?.commandId,
          instanceId,
        });
        if (await this.call(client.invokeCommand(request))) this.tally.invocations += 1;
      },
    );
  }

  reads(): Promise<void> {
    const { client } = this.main;
    const reads = [
      () => client.describeInvocations(new Ecs.DescribeInvocationsRequest({ regionId, pageSize: 20 })),
      () =>
        client.describeInvocationResults(
          new Ecs.DescribeInvocationResultsRequest({ regionId, invokeId: this.lastInvokeId }),
        ),
      () => client.describeCloudAssistantStatus(new Ecs.DescribeCloudAssistantStatusRequest({ regionId })),
      () => client.describeCommands(new Ecs.DescribeCommandsRequest({ regionId, pageSize: 20 })),
    ];
    return this.every(200, () => this.call(pick(reads)()));
  }

  /** Unknown ids: errors with their codes, for the error panels. */
  mistakes(): Promise<void> {
    const { client } = this.main;
    const unknownInvokeId = 't-nosuchinvocation';
    const mistakes = [
      () =>
        client.invokeCommand(
          new Ecs.InvokeCommandRequest({
            regionId,
            commandId: 'c-nosuchcommand',
            instanceId: [...this.realIds],
          }),
        ),
      () =>
        client.describeInvocationResults(
          new Ecs.DescribeInvocationResultsRequest({ regionId, invokeId: unknownInvokeId }),
        ),
      () => client.stopInvocation(new Ecs.StopInvocationRequest({ regionId, invokeId: unknownInvokeId })),
    ];
    return this.every(1200, () => this.call(pick(mistakes)()));
  }

  /** Tasks for the stopped agent: pending until the delivery timeout aborts them. */
  offlineTasks(): Promise<void> {
    const offline = this.main.offlineInstanceId;
    if (!offline) return Promise.resolve();
    return this.every(6000, () => this.runShell(this.main.client, [offline], 'echo never'));
  }

  files(targetDir: string): Promise<void> {
    let count = 0;
    return this.every(7000, () => {
      count += 1;
      const request = new Ecs.SendFileRequest({
        regionId,
        name: `file-${count}.txt`,
        content: 'hello',
        targetDir,
        instanceId: [pick(this.realIds)],
        overwrite: true,
      });
      return this.call(this.main.client.sendFile(request));
    });
  }

  /** A schedule, a run that times out, a run that is stopped. */
  oneOffs(): Promise<unknown> {
    const { client } = this.main;
    return Promise.all([
      this.at(0.05, () =>
        this.runShell(client, [this.realIds[0] as string], 'date', {
          repeatMode: 'Period',
          frequency: '0/15 * * * * ?',
          timeout: 10, // a schedule's runs must fit between two of its fire times
        }),
      ),
      this.at(0.2, () => this.runShell(client, [pick(this.realIds)], 'sleep 60', { timeout: 10 })),
      this.at(0.4, async () => {
        const invokeId = await this.runShell(client, [pick(this.realIds)], 'sleep 60');
        await sleep(3000);
        await this.call(client.stopInvocation(new Ecs.StopInvocationRequest({ regionId, invokeId })));
      }),
    ]);
  }
}
