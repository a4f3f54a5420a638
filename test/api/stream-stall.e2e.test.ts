import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCall } from '../../src/client/sign.js';
import type { AgentMessage } from '../../src/protocol/messages.js';
import { maxOutputChunkBytes, parseServerMessage } from '../../src/protocol/messages.js';
import { waitFor } from '../helpers/deadline.js';
import { helloMessage, openChannel, registerIdentity } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
// More output than the kernel's socket buffers hold between a server and a client that stopped reading.
const chunks = 160;

/** TCP connections of this machine as `local port → state` for those whose remote port is `remotePort`. */
function tcpStates(localPort: number): Map<number, string> {
  const states = new Map<number, string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    const local = Number.parseInt(fields[1]?.split(':')[1] ?? '', 16);
    const remote = Number.parseInt(fields[2]?.split(':')[1] ?? '', 16);
    if (local === localPort) states.set(remote, fields[3] ?? '');
  }
  return states;
}

describe('an event stream whose client stops reading', () => {
  let server: ServerProcess;
  let sdk: EcsClient;
  let instanceId: string;

  beforeAll(async () => {
    server = await startServerProcess({ env: { OPENASSIST_STREAM_STALL_S: '2' } });
    sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await sdk.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    const identity = await registerIdentity(server.url, {
      id: body?.activationId ?? '',
      code: body?.activationCode ?? '',
    });
    instanceId = identity.instanceId;
    // An agent whose run prints 10 MiB and keeps running.
    const channel = openChannel(server.url, identity);
    let events = 0;
    const send = (invokeId: string, event: Extract<AgentMessage, { type: 'event' }>['event']) =>
      channel.send(JSON.stringify({ type: 'event', eventId: String(++events), invokeId, event }));
    channel.on('open', () => channel.send(JSON.stringify(helloMessage({ schedules: [], runs: [] }))));
    channel.on('message', (data) => {
      const message = parseServerMessage(data.toString());
      if (message?.type !== 'task') return;
      const { invokeId } = message.task;
      send(invokeId, { kind: 'accepted' });
      send(invokeId, { kind: 'started', atMs: Date.now() });
      const data64 = Buffer.alloc(maxOutputChunkBytes, 'x').toString('base64');
      for (let i = 0; i < chunks; i++)
        send(invokeId, { kind: 'output', offset: i * maxOutputChunkBytes, data: data64 });
    });
    await new Promise<void>((resolve) => channel.once('open', () => resolve()));
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('is dropped once it has stalled past the limit, while its run goes on', async () => {
    const { body } = await sdk.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'yes',
        timeout: 600,
        instanceId: [instanceId],
      }),
    );
    const invokeId = body?.invokeId ?? '';
    const { url, headers } = await signCall(
      { endpoint: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
      'StreamInvocationOutput',
      new Map([
        ['RegionId', region],
        ['InvokeId', invokeId],
      ]),
    );
    const target = new URL(url);
    const client: Socket = connect(Number(target.port), target.hostname);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    // Asks for the stream and never reads it: the socket is paused from the start.
    client.pause();
    const head = Object.entries({ host: target.host, 'content-length': '0', ...headers })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    client.write(`POST ${target.pathname}${target.search} HTTP/1.1\r\n${head}\r\n`);

    // The server closes its end (FIN_WAIT1 = 04: its close waits behind data the client never read).
    const serverPort = Number(target.port);
    await waitFor(
      "the server to close the stalled stream's connection",
      () => {
        const state = tcpStates(serverPort).get(client.localPort ?? 0);
        return state !== undefined && state !== '01' ? state : undefined;
      },
      40_000,
    );

    // Reading again, the client gets what was sent, then the end: not the whole output.
    let received = 0;
    client.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const ended = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.on('error', () => {});
    client.resume();
    await Promise.race([
      ended,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the stream is still open')), 15_000),
      ),
    ]);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(((chunks * maxOutputChunkBytes) / 3) * 4);
    const { body: results } = await sdk.describeInvocationResults(
      new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId }),
    );
    expect(results?.invocation?.invocationResults?.invocationResult?.[0]?.invocationStatus).toBe('Running');
    expect(server.child.exitCode).toBeNull();
  }, 90_000);
});
