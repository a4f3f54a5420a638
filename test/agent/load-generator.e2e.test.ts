import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadProcess, startLoadProcess } from '../../bench/load-process.js';
import { apiOf } from '../../bench/stats.js';
import { waitFor } from '../helpers/deadline.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

interface Result {
  InstanceId: string;
  InvocationStatus: string;
  ExitCode: number;
  Output: string;
  Repeats: number;
}

let server: ServerProcess;
let call: ReturnType<typeof apiOf>;
const generators: LoadProcess[] = [];

beforeAll(async () => {
  server = await startServerProcess();
  call = apiOf(server);
});

afterAll(async () => {
  for (const generator of generators) await generator.stop();
  await server?.stop();
});

async function generator(count: number, mode: 'memory' | 'spawn'): Promise<LoadProcess> {
  const activation = await call('CreateActivation', { InstanceCount: String(count) });
  const started = await startLoadProcess({
    serverUrl: server.url,
    activations: [{ id: String(activation.ActivationId), code: String(activation.ActivationCode) }],
    count,
    mode,
    namePrefix: `test-${mode}`,
  });
  generators.push(started);
  // The activation code reached it through the environment, not the arguments every user can read.
  const commandLine = await readFile(`/proc/${started.child.pid}/cmdline`, 'utf8');
  expect(commandLine).toContain('--count');
  expect(commandLine).not.toContain(String(activation.ActivationCode));
  return started;
}

/** Every result of an invocation (history included), all pages. */
async function results(invokeId: string, includeHistory = false): Promise<Result[]> {
  const all: Result[] = [];
  for (let page = 1; ; page++) {
    const body = (await call('DescribeInvocationResults', {
      InvokeId: invokeId,
      ContentEncoding: 'PlainText',
      IncludeHistory: String(includeHistory),
      PageSize: '50',
      PageNumber: String(page),
    })) as { Invocation: { InvocationResults: { InvocationResult: Result[] } } };
    const rows = body.Invocation.InvocationResults.InvocationResult;
    all.push(...rows);
    if (rows.length < 50) return all;
  }
}

/** Runs `script` on every instance at once and waits until each result has ended. */
async function runEverywhere(instanceIds: readonly string[], script: string): Promise<Result[]> {
  const invoked = await call('RunCommand', {
    Type: 'RunShellScript',
    ContentEncoding: 'PlainText',
    CommandContent: script,
    ...Object.fromEntries(instanceIds.map((id, i) => [`InstanceId.${i + 1}`, id])),
  });
  return waitFor(
    `${instanceIds.length} runs to end`,
    async () => {
      const rows = await results(String(invoked.InvokeId));
      const ended = rows.filter((row) => !['Pending', 'Running'].includes(row.InvocationStatus));
      return ended.length === instanceIds.length ? rows : undefined;
    },
    60_000,
  );
}

describe('the load generator', () => {
  it('registers and connects 50 identities through one activation, which answer a run from memory', async () => {
    const memory = await generator(50, 'memory');
    expect(new Set(memory.instanceIds).size).toBe(50);
    const listed = await waitFor('50 connected instances', async () => {
      const body = (await call('DescribeManagedInstances', { PageSize: '50' })) as {
        Instances: { InstanceId: string; Connected: boolean; InstanceName: string }[];
      };
      const connected = body.Instances.filter(
        (instance) => instance.Connected && memory.instanceIds.includes(instance.InstanceId),
      );
      return connected.length === 50 ? connected : undefined;
    });
    expect(listed.map((instance) => instance.InstanceId).sort()).toEqual([...memory.instanceIds].sort());

    const rows = await runEverywhere(memory.instanceIds, 'echo load test\nexit 3');
    expect(rows).toHaveLength(50);
    for (const row of rows) {
      // Never run: the canned answer names the script's first line and succeeds.
      expect(row.InvocationStatus).toBe('Success');
      expect(row.ExitCode).toBe(0);
      expect(row.Output).toBe('memory mode: echo load test\n');
    }
  });

  it('runs the real script in spawn mode', async () => {
    const spawned = await generator(10, 'spawn');
    const rows = await runEverywhere(spawned.instanceIds, 'echo spawned $((6 * 7))\nexit 3');
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row.InvocationStatus).toBe('Failed');
      expect(row.ExitCode).toBe(3);
      expect(row.Output).toBe('spawned 42\n');
    }
  });

  it('fires a schedule with the real scheduler, from memory', async () => {
    const memory = await generator(5, 'memory');
    const invoked = await call('RunCommand', {
      Type: 'RunShellScript',
      ContentEncoding: 'PlainText',
      CommandContent: 'echo tick',
      Timeout: '10',
      Frequency: '0/10 * * * * ?',
      ...Object.fromEntries(memory.instanceIds.map((id, i) => [`InstanceId.${i + 1}`, id])),
    });
    const invokeId = String(invoked.InvokeId);
    const runs = await waitFor(
      'a scheduled run on each of the 5 identities',
      async () => {
        const rows = (await results(invokeId, true)).filter((row) => row.InvocationStatus === 'Success');
        return new Set(rows.map((row) => row.InstanceId)).size === 5 ? rows : undefined;
      },
      40_000,
    );
    for (const run of runs) expect(run.Output).toBe('memory mode: echo tick\n');
    await call('StopInvocation', { InvokeId: invokeId });
    await waitFor('the schedule to stop', async () => {
      const body = (await call('DescribeInvocations', { InvokeId: invokeId })) as {
        Invocations: { Invocation: { InvocationStatus: string }[] };
      };
      return body.Invocations.Invocation[0]?.InvocationStatus === 'Stopped' ? true : undefined;
    });
  });
});
