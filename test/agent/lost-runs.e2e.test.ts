import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { runErrorInfo } from '../../src/domain/run-errors.js';
import {
  type AgentMessage,
  type HeldRun,
  parseServerMessage,
  type ServerMessage,
} from '../../src/protocol/messages.js';
import { waitFor } from '../helpers/deadline.js';
import {
  type AgentIdentity,
  helloMessage,
  openChannel,
  registerIdentity,
} from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';

/**
 * An agent that accepts and starts every task it is sent and never finishes one: a hung agent,
 * or (reconnecting with fewer runs) one whose journal was wiped.
 */
class SilentAgent {
  readonly tasks: string[] = [];
  readonly cancels: string[] = [];
  private socket: WebSocket | undefined;
  private events = 0;

  constructor(
    private readonly serverUrl: string,
    readonly identity: AgentIdentity,
  ) {}

  /** Connects (closing any earlier channel) and says hello holding `runs`; resolves once welcomed. */
  async connect(runs: readonly HeldRun[]): Promise<void> {
    const previous = this.socket;
    if (previous && previous.readyState !== previous.CLOSED) {
      await new Promise((resolve) => {
        previous.once('close', resolve);
        previous.close();
      });
    }
    const socket = openChannel(this.serverUrl, this.identity);
    this.socket = socket;
    let welcomed = false;
    socket.on('open', () => this.send(helloMessage({ hostname: 'silent', schedules: [], runs })));
    socket.on('message', (data) => {
      const message = parseServerMessage(data.toString()) as ServerMessage;
      if (message.type === 'welcome') welcomed = true;
      if (message.type === 'cancel') this.cancels.push(message.invokeId);
      if (message.type !== 'task') return;
      const invokeId = message.task.invokeId;
      this.tasks.push(invokeId);
      this.send({ type: 'event', eventId: String(++this.events), invokeId, event: { kind: 'accepted' } });
      this.send({
        type: 'event',
        eventId: String(++this.events),
        invokeId,
        event: { kind: 'started', atMs: Date.now() },
      });
    });
    await waitFor('the agent to be welcomed', () => (welcomed ? true : undefined));
  }

  private send(message: AgentMessage): void {
    this.socket?.send(JSON.stringify(message));
  }

  close(): void {
    this.socket?.close();
  }
}

describe('runs whose agent will never report them', () => {
  let server: ServerProcess;
  let sdk: EcsClient;
  let agent: SilentAgent;

  beforeAll(async () => {
    // A one-second grace after a run's timeout, so the deadline test takes its Timeout plus a little.
    server = await startServerProcess({ env: { OPENASSIST_RUN_GRACE_S: '1' } });
    sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await sdk.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    const identity = await registerIdentity(server.url, {
      id: body?.activationId ?? '',
      code: body?.activationCode ?? '',
    });
    agent = new SilentAgent(server.url, identity);
    await agent.connect([]);
  });

  afterAll(async () => {
    agent?.close();
    await server?.stop();
  });

  const run = async (timeout: number): Promise<string> => {
    const { body } = await sdk.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'sleep 1000',
        timeout,
        instanceId: [agent.identity.instanceId],
      }),
    );
    return body?.invokeId ?? '';
  };

  const result = async (invokeId: string) => {
    const { body } = await sdk.describeInvocationResults(
      new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId }),
    );
    return body?.invocation?.invocationResults?.invocationResult?.[0];
  };

  const resultWith = (invokeId: string, status: string) =>
    waitFor(
      `${invokeId} to be ${status}`,
      async () => {
        const row = await result(invokeId);
        return row?.invocationStatus === status ? row : undefined;
      },
      30_000,
    );

  it('a run delivered to an agent whose hello no longer holds it ends Error / ExecutionLost', async () => {
    const lost = await run(600);
    const kept = await run(600);
    await resultWith(lost, 'Running');
    await resultWith(kept, 'Running');
    // The agent comes back holding only one of them: the other was in the journal it lost.
    await agent.connect([{ invokeId: kept, execution: 0 }]);
    const ended = await resultWith(lost, 'Error');
    expect(ended).toMatchObject({
      errorCode: 'ExecutionLost',
      errorInfo: runErrorInfo.ExecutionLost,
      invokeRecordStatus: 'Failed',
    });
    expect(ended.finishedTime).toBeTruthy();
    // The run it still holds goes on; its result can still come.
    expect((await result(kept))?.invocationStatus).toBe('Running');
  }, 60_000);

  it('a started run not reported within Timeout plus the grace ends Error / ExecutionNotReported', async () => {
    const hung = await run(10);
    await resultWith(hung, 'Running');
    const started = Date.now();
    const ended = await resultWith(hung, 'Error');
    expect(ended).toMatchObject({
      errorCode: 'ExecutionNotReported',
      errorInfo: runErrorInfo.ExecutionNotReported,
    });
    // Not before its Timeout (10 s from its start) and the grace have passed.
    expect(Date.now() - started).toBeGreaterThan(8_000);
    // The agent, still connected, is told to stop it.
    await waitFor('the agent to be told to stop the run', () =>
      agent.cancels.includes(hung) ? true : undefined,
    );
  }, 60_000);
});
