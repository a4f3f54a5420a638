import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { callApi, invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { parseServerMessage } from '../../src/protocol/messages.js';
import { waitFor } from '../helpers/deadline.js';
import { scrapeMetrics } from '../helpers/metrics-scrape.js';
import { helloMessage, openChannel, registerIdentity } from '../helpers/protocol-agent.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// DescribeInvocationResults on SQLite is answered by reader threads (docs/reader-threads.md):
// they must see every write the client was answered for, and answer exactly as the main thread.

interface HeldAgent {
  readonly instanceId: string;
  readonly tasks: string[];
  readonly acked: Set<string>;
  readonly socket: WebSocket;
}

/** An agent that holds its tasks until told to finish them, and records the server's acks. */
async function heldAgent(server: ServerProcess, root: Credentials): Promise<HeldAgent> {
  const activation = await invoke<{ ActivationId: string; ActivationCode: string }>(
    root,
    'CreateActivation',
    {
      RegionId: 'cn-hangzhou',
      InstanceCount: 1,
    },
  );
  const identity = await registerIdentity(server.url, {
    id: activation.ActivationId,
    code: activation.ActivationCode,
  });
  const socket = openChannel(server.url, identity);
  const agent: HeldAgent = { instanceId: identity.instanceId, tasks: [], acked: new Set(), socket };
  let welcomed = false;
  socket.on('open', () => socket.send(JSON.stringify(helloMessage())));
  socket.on('message', (data) => {
    const message = parseServerMessage(data.toString());
    if (message?.type === 'welcome') welcomed = true;
    if (message?.type === 'task') agent.tasks.push(message.task.invokeId);
    if (message?.type === 'ack') for (const id of message.eventIds) agent.acked.add(id);
  });
  await waitFor('the agent to be welcomed', () => (welcomed ? true : undefined));
  return agent;
}

const credentialsOf = (server: ServerProcess): Credentials => ({
  endpoint: server.url,
  accessKeyId: server.accessKeyId,
  accessKeySecret: server.accessKeySecret,
});

interface ResultsBody {
  Invocation: {
    TotalCount: number;
    InvocationResults: {
      InvocationResult: { InvokeId: string; InvocationStatus: string; ExitCode?: number; Output: string }[];
    };
  };
}

const results = (root: Credentials, invokeId: string) =>
  invoke<ResultsBody>(root, 'DescribeInvocationResults', { RegionId: 'cn-hangzhou', InvokeId: invokeId });

describe('reader threads answer DescribeInvocationResults', () => {
  let withReaders: ServerProcess;
  let mainOnly: ServerProcess;

  beforeAll(async () => {
    [withReaders, mainOnly] = await Promise.all([
      startServerProcess({ env: { OPENASSIST_SQLITE_READERS: '2' } }),
      startServerProcess({ env: { OPENASSIST_SQLITE_READERS: '0' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([withReaders?.stop(), mainOnly?.stop()]);
  });

  it('sees every write the client was answered for: a new invocation, then a reported result', async () => {
    const root = credentialsOf(withReaders);
    const agent = await heldAgent(withReaders, root);
    try {
      const before = await scrapeMetrics(withReaders.url);
      const rounds = 25;
      for (let round = 0; round < rounds; round++) {
        const { InvokeId } = await invoke<{ InvokeId: string }>(root, 'RunCommand', {
          RegionId: 'cn-hangzhou',
          Type: 'RunShellScript',
          CommandContent: `echo ${round}`,
          'InstanceId.1': agent.instanceId,
        });
        // Read at once after the answer: the row exists.
        const created = await results(root, InvokeId);
        expect(created.Invocation.TotalCount).toBe(1);
        expect(created.Invocation.InvocationResults.InvocationResult[0]?.InvokeId).toBe(InvokeId);

        await waitFor('the task to reach the agent', () =>
          agent.tasks.includes(InvokeId) ? true : undefined,
        );
        const finishedId = `${InvokeId}-finished`;
        const send = (eventId: string, event: object) =>
          agent.socket.send(JSON.stringify({ type: 'event', eventId, invokeId: InvokeId, event }));
        send(`${InvokeId}-accepted`, { kind: 'accepted' });
        send(`${InvokeId}-started`, { kind: 'started', atMs: Date.now() });
        send(finishedId, {
          kind: 'finished',
          atMs: Date.now(),
          status: 'Success',
          exitCode: 0,
          errorCode: '',
          errorInfo: '',
          droppedBytes: 0,
        });
        await waitFor('the result to be acknowledged', () =>
          agent.acked.has(finishedId) ? true : undefined,
        );
        // Read at once after the acknowledgement: the result is there.
        const finished = await results(root, InvokeId);
        expect(finished.Invocation.InvocationResults.InvocationResult[0]).toMatchObject({
          InvocationStatus: 'Success',
          ExitCode: 0,
        });
      }
      // The reads went through the reader threads (not all left to the main thread).
      const after = await scrapeMetrics(withReaders.url);
      const byReaders =
        after.value('openassist_reader_calls_total', { answered: 'reader' }) -
        before.value('openassist_reader_calls_total', { answered: 'reader' });
      expect(byReaders).toBeGreaterThanOrEqual(rounds * 2);
    } finally {
      agent.socket.close();
    }
  });

  it('answers errors with the same code, HTTP status and message as the main thread', async () => {
    const cases: Record<string, string>[] = [
      { InvokeRecordStatus: 'Bogus' },
      { IncludeHistory: 'true' },
      { IncludeHistory: 'perhaps' },
      { MaxResults: '0' },
      { MaxResults: 'ten' },
      { PageNumber: '-1' },
      { NextToken: 'not-a-token' },
      { 'Tag.1.Key': '' },
      { RegionId: 'cn-nowhere' },
    ];
    for (const params of cases) {
      const answers = await Promise.all(
        [withReaders, mainOnly].map(async (server) => {
          const response = await callApi(
            credentialsOf(server),
            'DescribeInvocationResults',
            new Map(Object.entries({ RegionId: 'cn-hangzhou', ...params })),
          );
          const body = response.body as { Code?: string; Message?: string };
          return { status: response.status, code: body.Code, message: body.Message };
        }),
      );
      expect(answers[0]?.status, JSON.stringify(params)).toBeGreaterThanOrEqual(400);
      expect(answers[0], JSON.stringify(params)).toEqual(answers[1]);
    }
  });

  it('answers in XML when asked, as the main thread renders it', async () => {
    const answers = await Promise.all(
      [withReaders, mainOnly].map((server) =>
        callApi(
          credentialsOf(server),
          'DescribeInvocationResults',
          new Map([
            ['RegionId', 'cn-hangzhou'],
            ['InvokeId', 't-none'],
            ['Format', 'XML'],
          ]),
        ),
      ),
    );
    // The client reads JSON: an XML answer comes back whole (up to 500 characters) as the Message.
    const shape = (body: Record<string, unknown> | undefined) =>
      String(body?.Message).replace(/<RequestId>[^<]*<\/RequestId>/, '');
    expect(answers[0]?.status).toBe(200);
    expect(shape(answers[0]?.body)).toBe(shape(answers[1]?.body));
    expect(shape(answers[0]?.body)).toContain('<DescribeInvocationResultsResponse>');
  });

  it('checks RAM before handing the call over: a policy without the action is 403 Forbidden.RAM', async () => {
    const root = credentialsOf(withReaders);
    const { AccessKey } = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
      root,
      'CreateAccessKey',
      {
        Policy: JSON.stringify({
          Version: '1',
          Statement: [{ Effect: 'Allow', Action: ['ecs:DescribeInvocations'] }],
        }),
      },
      '2015-05-01',
    );
    const response = await callApi(
      {
        endpoint: withReaders.url,
        accessKeyId: AccessKey.AccessKeyId,
        accessKeySecret: AccessKey.AccessKeySecret,
      },
      'DescribeInvocationResults',
      new Map([['RegionId', 'cn-hangzhou']]),
    );
    expect(response.status).toBe(403);
    expect((response.body as { Code: string }).Code).toBe('Forbidden.RAM');
  });
});
