import { setTimeout as sleep } from 'node:timers/promises';
import { Ecs, type EcsClient } from '../sdk.js';
import { apiOf } from '../stats.js';
import type { Deployment } from './deployments.js';

/** What the workload sent, for the report. */
export interface Tally {
  calls: number;
  /** Calls answered with an error: most on purpose (unknown ids), so the error panels have data. */
  errors: number;
  invocations: number;
}

const regionId = 'cn-hangzhou';
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

/**
 * A scripted minute of operations through the official SDK, paced rather than flat out: runs on
 * real agents that succeed, fail, time out and are stopped; many short runs on memory agents with a
 * rate that rises and falls; a schedule; files; reads; calls with unknown ids; tasks for an agent
 * that is offline (aborted by the delivery timeout); a webhook whose receiver refuses, then accepts.
 */
export async function runWorkload(
  main: Deployment,
  others: readonly Deployment[],
  seconds: number,
  webhook: { url: string; accept(): void },
): Promise<Tally> {
  const tally: Tally = { calls: 0, errors: 0, invocations: 0 };
  const startMs = Date.now();
  const endMs = startMs + seconds * 1000;
  const progress = () => (Date.now() - startMs) / (endMs - startMs);
  const call = async <T>(request: Promise<T>): Promise<T | undefined> => {
    tally.calls += 1;
    try {
      return await request;
    } catch {
      tally.errors += 1;
      return undefined;
    }
  };
  /** Calls `step` until the end, `pacingMs()` apart. */
  const every = async (pacingMs: () => number, step: () => Promise<unknown>) => {
    while (Date.now() < endMs) {
      await step();
      await sleep(pacingMs());
    }
  };
  const at = async (fraction: number, step: () => Promise<unknown>) => {
    await sleep(Math.max(0, startMs + fraction * seconds * 1000 - Date.now()));
    await step();
  };

  // Only the real agents' runs (tagged): few enough events that the outbox drains once accepted.
  const webhookTag = { key: 'notify', value: 'webhook' };
  await apiOf(main.server)('CreateWebhook', {
    Url: webhook.url,
    Secret: 'dashboard-render-secret',
    TagKey: webhookTag.key,
    TagValue: webhookTag.value,
  });
  const real = main.agents.map((agent) => agent.instanceId);
  const runShell = async (client: EcsClient, instanceIds: readonly string[], script: string, extra = {}) => {
    const response = await call(
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
    if (response) tally.invocations += 1;
    return response?.body?.invokeId;
  };
  const memoryCommand = await main.client.createCommand(
    new Ecs.CreateCommandRequest({
      regionId,
      name: 'dashboard-echo',
      type: 'RunShellScript',
      commandContent: 'ZWNobyBoaQ==',
    }),
  );
  let lastInvokeId = '';
  const reads = [
    () => main.client.describeInvocations(new Ecs.DescribeInvocationsRequest({ regionId, pageSize: 20 })),
    () =>
      main.client.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({
          regionId,
          invokeId: lastInvokeId,
          contentEncoding: 'PlainText',
        }),
      ),
    () => main.client.describeCloudAssistantStatus(new Ecs.DescribeCloudAssistantStatusRequest({ regionId })),
    () => main.client.describeCommands(new Ecs.DescribeCommandsRequest({ regionId, pageSize: 20 })),
  ];
  const mistakes = [
    () =>
      main.client.invokeCommand(
        new Ecs.InvokeCommandRequest({ regionId, commandId: 'c-nosuchcommand', instanceId: real }),
      ),
    () =>
      main.client.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({ regionId, invokeId: 't-nosuchinvocation' }),
      ),
    () =>
      main.client.stopInvocation(new Ecs.StopInvocationRequest({ regionId, invokeId: 't-nosuchinvocation' })),
  ];
  let round = 0;

  await Promise.all([
    // Real scripts: mostly quick successes, one in six fails, durations spread over the buckets.
    every(
      () => 600,
      async () => {
        const seconds = pick(['0.2', '0.5', '1', '1', '2', '4']);
        const exit = Math.random() < 1 / 6 ? 3 : 0;
        lastInvokeId =
          (await runShell(main.client, [pick(real)], `sleep ${seconds}; echo done; exit ${exit}`, {
            tag: [new Ecs.RunCommandRequestTag(webhookTag)],
          })) ?? lastInvokeId;
      },
    ),
    // Memory agents: a rate that rises to about 10 invocations/s mid-run and falls again.
    every(
      () => 100 + 500 * Math.abs(1 - 2 * progress()),
      async () => {
        const instanceId = [pick(main.memoryInstanceIds), pick(main.memoryInstanceIds)];
        const response = await call(
          main.client.invokeCommand(
            new Ecs.InvokeCommandRequest({ regionId, commandId: memoryCommand.body?.commandId, instanceId }),
          ),
        );
        if (response) tally.invocations += 1;
      },
    ),
    every(
      () => 200,
      () => call(reads[round++ % reads.length]!()),
    ),
    every(
      () => 1200,
      () => call(mistakes[round % mistakes.length]!()),
    ),
    // Tasks for the offline agent: pending until the delivery timeout aborts them.
    every(
      () => 6000,
      () =>
        main.offlineInstanceId
          ? runShell(main.client, [main.offlineInstanceId], 'echo never')
          : Promise.resolve(),
    ),
    every(
      () => 7000,
      () =>
        call(
          main.client.sendFile(
            new Ecs.SendFileRequest({
              regionId,
              name: `f-${round}.txt`,
              content: 'hello',
              targetDir: '/tmp',
              instanceId: [pick(real)],
              overwrite: true,
            }),
          ),
        ),
    ),
    at(0.05, () =>
      runShell(main.client, [real[0]!], 'date', {
        repeatMode: 'Period',
        frequency: '0/15 * * * * ?',
        timeout: 10, // a schedule's runs must fit between two of its fire times
      }),
    ),
    at(0.2, () => runShell(main.client, [pick(real)], 'sleep 60', { timeout: 10 })),
    at(0.4, async () => {
      const invokeId = await runShell(main.client, [pick(real)], 'sleep 60');
      await sleep(3000);
      await call(main.client.stopInvocation(new Ecs.StopInvocationRequest({ regionId, invokeId })));
    }),
    at(0.4, async () => webhook.accept()),
    ...others.map((other) =>
      every(
        () => 500,
        () => runShell(other.client, [pick(other.memoryInstanceIds)], 'echo hi'),
      ),
    ),
  ]);
  return tally;
}
