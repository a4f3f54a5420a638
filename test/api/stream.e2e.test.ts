import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiCallError, invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { signCall } from '../../src/client/sign.js';
import { downloadOutput, followInvocation, type InvocationEvent } from '../../src/client/stream.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { v1Raw } from '../helpers/raw-client.js';
import { Ecs, type EcsClient } from '../helpers/sdk.js';

const region = 'cn-hangzhou';
let fleet: Fleet;
let client: EcsClient;
let credentials: Credentials;
let second: AgentProcess;

beforeAll(async () => {
  fleet = await startFleet();
  client = fleet.client;
  credentials = {
    endpoint: fleet.server.url,
    accessKeyId: fleet.server.accessKeyId,
    accessKeySecret: fleet.server.accessKeySecret,
  };
  const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
  second = await startAgentProcess({
    serverUrl: fleet.server.url,
    activationId: body?.activationId ?? '',
    activationCode: body?.activationCode ?? '',
  });
});

afterAll(async () => {
  await second?.stop();
  await fleet?.stop();
});

async function run(script: string, instanceIds = [fleet.agent.instanceId]): Promise<string> {
  const { body } = await client.runCommand(
    new Ecs.RunCommandRequest({
      regionId: region,
      type: 'RunShellScript',
      commandContent: script,
      instanceId: instanceIds,
      timeout: 60,
    }),
  );
  return body?.invokeId ?? '';
}

/** Every event until `end` (or `stop` says so), within a deadline. */
async function collect(
  options: { invokeId: string; instanceId?: string; cursor?: string },
  stop: (event: InvocationEvent) => boolean = () => false,
): Promise<{ event: InvocationEvent; atMs: number }[]> {
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(), 30_000);
  const events: { event: InvocationEvent; atMs: number }[] = [];
  try {
    for await (const event of followInvocation(credentials, { ...options, signal: controller.signal })) {
      events.push({ event, atMs: Date.now() });
      if (stop(event)) break;
    }
  } finally {
    clearTimeout(deadline);
  }
  if (controller.signal.aborted) throw new Error('the stream did not end within 30 s');
  return events;
}

const outputText = (events: { event: InvocationEvent }[], instanceId?: string): string =>
  events
    .map(({ event }) => event)
    .filter((event) => event.type === 'output' && (!instanceId || event.data.InstanceId === instanceId))
    .map((event) => Buffer.from((event.data as { Output: string }).Output, 'base64').toString('utf8'))
    .join('');

const lines = (prefix: string, count: number): string =>
  Array.from({ length: count }, (_, i) => `${prefix} ${i + 1}\n`).join('');

describe('StreamInvocationOutput', () => {
  it('follows a running script live: output before the run is final, Running → Success, then end', async () => {
    // Each line carries the time it was printed, to measure how long output takes to reach us.
    const invokeId = await run('for i in $(seq 1 10); do echo "tick $i $(date +%s%3N)"; sleep 0.2; done');
    const events = await collect({ invokeId });
    const kinds = events.map(({ event }) => event.type);
    const firstOutput = kinds.indexOf('output');
    const finalStatus = events.findIndex(
      ({ event }) => event.type === 'status' && event.data.InvocationStatus === 'Success',
    );
    expect(firstOutput).toBeGreaterThanOrEqual(0);
    expect(firstOutput).toBeLessThan(finalStatus);
    const statuses = events.flatMap(({ event }) =>
      event.type === 'status' ? [event.data.InvocationStatus] : [],
    );
    expect(statuses.indexOf('Running')).toBeGreaterThanOrEqual(0);
    expect(statuses.indexOf('Running')).toBeLessThan(statuses.indexOf('Success'));
    expect(statuses.at(-1)).toBe('Success');
    expect(events.at(-1)?.event).toEqual({
      type: 'end',
      data: { InvocationStatus: 'Success' },
      cursor: expect.any(String),
    });
    const text = outputText(events);
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ')[1]),
    ).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 1)));
    // Latency: from the script printing a line to the event carrying it arriving here.
    const delays = events.flatMap(({ event, atMs }) =>
      event.type === 'output'
        ? Buffer.from(event.data.Output, 'base64')
            .toString('utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => atMs - Number(line.split(' ')[2]))
        : [],
    );
    delays.sort((a, b) => a - b);
    console.log(
      `output latency over ${delays.length} lines: min ${delays[0]} ms, median ${delays[Math.floor(delays.length / 2)]} ms, max ${delays.at(-1)} ms`,
    );
    expect(events.every(({ event }) => event.type !== 'output' || event.data.Execution === 0)).toBe(true);
  });

  it('resumes from a cursor after an abort, sending nothing twice and missing nothing', async () => {
    const invokeId = await run('for i in $(seq 1 40); do echo "resume $i"; sleep 0.04; done');
    const first = await collect({ invokeId }, (event) => event.type === 'output');
    const cursor = first.at(-1)?.event.cursor;
    expect(cursor).toEqual(expect.any(String));
    const rest = await collect({ invokeId, cursor: cursor as string });
    expect(outputText(first) + outputText(rest)).toBe(lines('resume', 40));
    // A cursor taken at the end resumes to nothing but the states and the end.
    const again = await collect({ invokeId, cursor: rest.at(-1)?.event.cursor as string });
    expect(again.map(({ event }) => event.type)).toEqual(['status', 'end']);
  });

  it('follows one instance when InstanceId is given, ending with that instance’s status', async () => {
    const [a, b] = [fleet.agent.instanceId, second.instanceId];
    const invokeId = await run('echo "on $(hostname) once"; sleep 0.3; exit 0', [a, b]);
    const onlyB = await collect({ invokeId, instanceId: b });
    const instances = new Set(
      onlyB.flatMap(({ event }) => (event.type === 'end' ? [] : [event.data.InstanceId])),
    );
    expect([...instances]).toEqual([b]);
    expect(onlyB.at(-1)?.event).toMatchObject({ type: 'end', data: { InvocationStatus: 'Success' } });
    const both = await collect({ invokeId });
    const seen = new Set(
      both.flatMap(({ event }) => (event.type === 'status' ? [event.data.InstanceId] : [])),
    );
    expect(seen).toEqual(new Set([a, b]));
    expect(outputText(both, a)).toMatch(/ once\n$/);
    expect(outputText(both, b)).toMatch(/ once\n$/);
  });

  it('answers a V1-signed call too', async () => {
    const invokeId = await run('echo v1');
    await waitFor('the run to end', async () => {
      const { body } = await client.describeInvocations(
        new Ecs.DescribeInvocationsRequest({ regionId: region, invokeId }),
      );
      const status = body?.invocations?.invocation?.[0]?.invocationStatus;
      return status === 'Success' ? status : undefined;
    });
    const response = await v1Raw({
      url: fleet.server.url,
      accessKeyId: fleet.server.accessKeyId,
      accessKeySecret: fleet.server.accessKeySecret,
      action: 'StreamInvocationOutput',
      params: { RegionId: region, InvokeId: invokeId },
    });
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^text\/event-stream/);
    expect(response.text).toContain(`data: {"InvocationStatus":"Success"}`);
    expect(response.text).toContain(
      `data: {"InstanceId":"${fleet.agent.instanceId}","Execution":0,"Offset":0,"Output":"${Buffer.from('v1\n').toString('base64')}"}`,
    );
  });

  it('refuses bad requests before streaming, with the catalogue’s codes', async () => {
    const invokeId = await run('true');
    const refused = async (
      options: Parameters<typeof followInvocation>[1],
      as: Credentials = credentials,
    ): Promise<[string, number]> => {
      try {
        for await (const _ of followInvocation(as, { ...options, maxRetries: 0 })) break;
      } catch (error) {
        if (error instanceof ApiCallError) return [error.code, error.status];
        throw error;
      }
      return ['accepted', 200];
    };
    expect(await refused({ invokeId: '' })).toEqual(['MissingParameter', 400]);
    expect(await refused({ invokeId: 't-doesnotexist' })).toEqual(['InvalidInvokeId.NotFound', 404]);
    expect(await refused({ invokeId, instanceId: 'mi-notinthisone' })).toEqual([
      'InvalidInstanceId.NotFound',
      404,
    ]);
    expect(await refused({ invokeId, cursor: 'bm90IGEgY3Vyc29y' })).toEqual(['InvalidParameter', 400]);
    expect(await refused({ invokeId, cursor: '!!' })).toEqual(['InvalidParameter', 400]);
    expect(await refused({ invokeId }, { ...credentials, accessKeySecret: 'wrong' })).toEqual([
      'SignatureDoesNotMatch',
      400,
    ]);
    expect(await refused({ invokeId, regionId: 'xx-nowhere' })).toEqual(['RegionId.ApiNotSupported', 400]);
  });
});

describe('DescribeInvocationOutput', () => {
  it('downloads an output far beyond the 24 KB tail whole, and any range of it', async () => {
    const invokeId = await run('seq 1 30000');
    const expected = Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join('');
    expect(expected.length).toBeGreaterThan(100_000);
    const streamed = await collect({ invokeId });
    expect(outputText(streamed)).toBe(expected);
    const whole = await downloadOutput(credentials, invokeId, fleet.agent.instanceId);
    expect(Buffer.from(whole).toString('utf8')).toBe(expected);

    const { body } = await client.describeInvocationResults(
      new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId }),
    );
    const result = body?.invocation?.invocationResults?.invocationResult?.[0];
    expect(Buffer.from(result?.output ?? '', 'base64').toString('utf8')).toBe(expected.slice(-24 * 1024));
    expect(result?.dropped).toBe(expected.length - 24 * 1024);

    const page = await invoke(credentials, 'DescribeInvocationOutput', {
      RegionId: region,
      InvokeId: invokeId,
      InstanceId: fleet.agent.instanceId,
      Offset: 100_000,
      Length: 50,
      ContentEncoding: 'PlainText',
    });
    expect(page).toMatchObject({
      InvokeId: invokeId,
      InstanceId: fleet.agent.instanceId,
      Execution: 0,
      Offset: 100_000,
      Length: 50,
      TotalBytes: expected.length,
      DroppedBytes: 0,
      Output: expected.slice(100_000, 100_050),
      InvocationStatus: 'Success',
      Finished: false,
    });
    const last = await invoke(credentials, 'DescribeInvocationOutput', {
      RegionId: region,
      InvokeId: invokeId,
      InstanceId: fleet.agent.instanceId,
      Offset: expected.length - 10,
    });
    expect(last).toMatchObject({ Length: 10, Finished: true });
  });

  it('refuses bad requests with the catalogue’s codes', async () => {
    const invokeId = await run('true');
    const refused = async (params: Record<string, string | number>): Promise<[string, number]> => {
      try {
        await invoke(credentials, 'DescribeInvocationOutput', { RegionId: region, ...params });
      } catch (error) {
        if (error instanceof ApiCallError) return [error.code, error.status];
        throw error;
      }
      return ['accepted', 200];
    };
    const instanceId = fleet.agent.instanceId;
    expect(await refused({ InstanceId: instanceId })).toEqual(['MissingParameter', 400]);
    expect(await refused({ InvokeId: invokeId })).toEqual(['MissingParameter', 400]);
    expect(await refused({ InvokeId: 't-doesnotexist', InstanceId: instanceId })).toEqual([
      'InvalidInvokeId.NotFound',
      404,
    ]);
    expect(await refused({ InvokeId: invokeId, InstanceId: 'mi-other' })).toEqual([
      'InvalidInstanceId.NotFound',
      404,
    ]);
    const shapes: Record<string, string | number>[] = [
      { Length: 0 },
      { Length: 1024 * 1024 + 1 },
      { Offset: -1 },
      { Execution: 'x' },
    ];
    for (const bad of shapes) {
      expect(await refused({ InvokeId: invokeId, InstanceId: instanceId, ...bad })).toEqual([
        'InvalidParameter',
        400,
      ]);
    }
    expect(await refused({ InvokeId: invokeId, InstanceId: instanceId, Execution: 3 })).toEqual([
      'InvalidParameter',
      400,
    ]);
    expect(await refused({ InvokeId: invokeId, InstanceId: instanceId, ContentEncoding: 'Hex' })).toEqual([
      'InvalidParameter.ContentEncoding',
      400,
    ]);
  });
});

describe('closing the server', () => {
  it('ends open streams instead of waiting for them', async () => {
    const invokeId = await run('echo started; sleep 30');
    const { url, headers } = await signCall(
      credentials,
      'StreamInvocationOutput',
      new Map([
        ['RegionId', region],
        ['InvokeId', invokeId],
      ]),
    );
    const response = await fetch(url, { method: 'POST', headers });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const started = Buffer.from('started\n').toString('base64');
    let received = '';
    while (!received.includes(started)) {
      const { value, done } = await reader.read();
      if (done) break;
      received += Buffer.from(value).toString('utf8');
    }
    const startedAt = Date.now();
    expect(await fleet.server.stop()).toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    // The response ended cleanly: no error, just the end of the body.
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  });
});
