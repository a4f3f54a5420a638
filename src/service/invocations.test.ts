import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InvokeInput } from '../domain/invocation.js';
import type { TaskEvent } from '../protocol/messages.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { ActivationService } from './activations.js';
import { CommandService } from './commands.js';
import { InstanceService } from './instances.js';
import { InvocationService, type NewTask, type TaskDispatcher } from './invocations.js';
import { ParameterService } from './parameters.js';
import { SecretBox } from './secret-box.js';

/**
 * The InvokeCommand path through the service, with no process, socket or disk: an in-memory SQLite
 * store, a dispatcher that records what it is told, and a clock the test moves.
 */
const region = 'cn-hangzhou';

class RecordingDispatcher implements TaskDispatcher {
  readonly woken: { instanceIds: readonly string[]; created: NewTask | undefined }[] = [];
  readonly cancelled: string[] = [];
  wake(instanceIds: readonly string[], created?: NewTask): void {
    this.woken.push({ instanceIds, created });
  }
  cancel(instanceId: string, invokeId: string, terminationMode: string): void {
    this.cancelled.push(`${instanceId}/${invokeId}/${terminationMode}`);
  }
}

describe('InvocationService: InvokeCommand with in-memory parts', () => {
  let store: Store;
  let nowMs: number;
  let dispatcher: RecordingDispatcher;
  let service: InvocationService;
  let commandId: string;
  let running: string[];
  let stopped: string;
  const clock = () => nowMs;

  const invokeInput = (input: Partial<InvokeInput>): InvokeInput => ({
    instanceIds: [],
    tags: [],
    ...input,
  });

  async function register(instances: InstanceService, hello: boolean): Promise<string> {
    const activations = new ActivationService(store, clock);
    const { activation, code } = await activations.create(region, { tags: [] });
    const { instanceId } = await instances.register(
      {
        activationId: activation.id,
        activationCode: code,
        hostname: 'host',
        osType: 'linux',
        osVersion: 'Debian 12',
        agentVersion: '1.0.0',
        machineId: randomBytes(8).toString('hex'),
      },
      '127.0.0.1',
    );
    if (hello) {
      await store.instances.hello(instanceId, {
        bootId: 'boot-1',
        hostname: 'host',
        osVersion: 'Debian 12',
        agentVersion: '1.0.0',
        timeZone: 'UTC',
        shells: ['sh', 'bash'],
        atMs: nowMs,
        nodeId: 'node-1',
      });
    }
    return instanceId;
  }

  beforeEach(async () => {
    nowMs = Date.UTC(2026, 5, 1, 12);
    store = openSqliteStore(':memory:');
    dispatcher = new RecordingDispatcher();
    const parameters = new ParameterService(store, new SecretBox(randomBytes(32)), clock);
    service = new InvocationService(
      store,
      dispatcher,
      clock,
      { shownBytes: 24 * 1024, keptBytes: 1024 },
      3,
      parameters,
    );
    const instances = new InstanceService(store, { close: () => undefined }, clock, 20);
    running = [await register(instances, true), await register(instances, true)];
    stopped = await register(instances, true);
    // The operating system shut down: Stopped until the agent's next hello.
    await store.instances.stopped(stopped);
    const command = await new CommandService(store, clock).create(region, {
      name: 'greet',
      type: 'RunShellScript',
      content: 'echo {{name}} on {{ACS::InstanceId}}',
      contentEncoding: 'PlainText',
      enableParameter: true,
      tags: [],
    });
    commandId = command.id;
  });

  afterEach(async () => {
    await store.close();
  });

  it('creates one Pending run per instance and hands dispatch the task of the invocation it created', async () => {
    const invocation = await service.invoke(
      region,
      commandId,
      invokeInput({ instanceIds: running, parameters: '{"name":"world"}' }),
    );
    expect(invocation).toMatchObject({ status: 'Pending', repeatMode: 'Once', createdAtMs: nowMs });
    // One wake, carrying the task of the invocation created: dispatch sends it without reading it back.
    expect(dispatcher.woken).toHaveLength(1);
    expect([...(dispatcher.woken[0]?.instanceIds ?? [])].sort()).toEqual([...running].sort());
    const created = dispatcher.woken[0]?.created;
    expect(created?.invokeId).toBe(invocation.id);
    const runs = await service.runs(invocation.id);
    expect(runs.map((run) => [run.instanceId, run.status]).sort()).toEqual(
      running.map((id) => [id, 'Pending']).sort(),
    );
    const instance = await store.instances.find(running[0] ?? '');
    if (!instance) throw new Error('the registered instance is gone');
    const task = await created?.render(instance);
    expect(task).toMatchObject({
      invokeId: invocation.id,
      script: `echo world on ${instance.id}`,
      timeoutSeconds: 60,
      terminationMode: 'ProcessTree',
    });
  });

  const refusals: [string, Partial<InvokeInput> & { commandId?: string; unready?: true }, string][] = [
    ['an unknown command', { commandId: 'c-missing' }, 'InvalidCmdId.NotFound'],
    ['an unknown instance', { instanceIds: ['mi-missing'] }, 'InvalidInstance.NotFound'],
    ['an instance not Running among Running ones', { unready: true }, 'InvalidInstance.NotMatch'],
    ['a DryRun', { repeatMode: 'DryRun' }, 'DryRunOperation'],
    ['no Parameters for a command that defines some', { parameters: undefined }, 'Parameter.MissingValue'],
    [
      'a frequency that is not one',
      { repeatMode: 'Period', frequency: 'rate(1x)' },
      'InvalidParam.Frequency',
    ],
  ];

  it.each(refusals)('refuses %s with nothing created or sent', async (_what, refused, code) => {
    const { commandId: otherCommand, unready, ...input } = refused;
    const instanceIds = input.instanceIds ?? (unready ? [...running, stopped] : running);
    await expect(
      service.invoke(
        region,
        otherCommand ?? commandId,
        invokeInput({ parameters: '{"name":"x"}', ...input, instanceIds }),
      ),
    ).rejects.toMatchObject({ code });
    expect(dispatcher.woken).toEqual([]);
    const page = await service.describe(
      region,
      { tags: [] },
      { style: 'token', maxResults: 10, afterSeq: undefined },
    );
    expect(page.items).toEqual([]);
  });

  it('counts the daily quota per region and UTC day', async () => {
    const once = () =>
      service.invoke(
        region,
        commandId,
        invokeInput({ instanceIds: running.slice(0, 1), parameters: '{"name":"q"}' }),
      );
    for (let i = 0; i < 3; i++) await once();
    await expect(once()).rejects.toMatchObject({ code: 'Invocation.ExceedQuota' });
    nowMs = Date.UTC(2026, 5, 2, 0, 0, 1);
    await expect(once()).resolves.toMatchObject({ status: 'Pending' });
  });

  it('follows the agent events to Success, keeps output within the kept bytes, and ignores what comes after the end', async () => {
    const [instanceId = ''] = running;
    const invocation = await service.invoke(
      region,
      commandId,
      invokeInput({ instanceIds: [instanceId], parameters: '{"name":"x"}' }),
    );
    const output = Buffer.alloc(1500, 'a');
    const events: TaskEvent[] = [
      { kind: 'accepted' },
      { kind: 'started', atMs: nowMs + 5 },
      { kind: 'output', offset: 0, data: output.toString('base64') },
      {
        kind: 'finished',
        atMs: nowMs + 9,
        status: 'Success',
        exitCode: 0,
        errorCode: '',
        errorInfo: '',
        droppedBytes: 0,
        outputBytes: output.length,
      },
    ];
    expect(await service.applyEvents(instanceId, invocation.id, 0, events)).toEqual([true, true, true, true]);
    expect(await service.get(region, invocation.id)).toMatchObject({ status: 'Success' });
    const [run] = await service.runs(invocation.id);
    expect(run).toMatchObject({ status: 'Success', exitCode: 0, outputBytes: 1024, droppedBytes: 476 });
    // A late event for a finished run changes nothing.
    await service.applyEvent(instanceId, invocation.id, 0, { kind: 'started', atMs: nowMs + 50 });
    expect(await service.runs(invocation.id)).toEqual([run]);
    // Another instance's agent cannot touch the run.
    expect(await service.applyEvent(running[1] ?? '', invocation.id, 0, { kind: 'accepted' })).toBe(false);
  });

  it('stops what has not reached the agent and tells dispatch to cancel the rest', async () => {
    const invocation = await service.invoke(
      region,
      commandId,
      invokeInput({ instanceIds: running, parameters: '{"name":"x"}' }),
    );
    const [held = '', waiting = ''] = running;
    await service.applyEvent(held, invocation.id, 0, { kind: 'started', atMs: nowMs });
    await service.stop(region, invocation.id, []);
    const runs = new Map((await service.runs(invocation.id)).map((run) => [run.instanceId, run.status]));
    expect(runs.get(waiting)).toBe('Cancelled');
    expect(runs.get(held)).toBe('Stopping');
    expect(dispatcher.cancelled).toEqual([`${held}/${invocation.id}/ProcessTree`]);
  });
});
