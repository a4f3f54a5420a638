import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  dataFrame,
  decodeFrame,
  type Frame,
  frameType,
  resizeFrame,
} from '../../src/protocol/session-frames.js';
import { waitFor } from '../helpers/deadline.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { startTwoNodes, type TwoNodes } from '../helpers/two-nodes.js';

const region = 'cn-hangzhou';
const available = await postgresAvailable();

/** A client's socket: the terminal's bytes received, and how it closed. */
function openClient(url: string) {
  const socket = new WebSocket(url);
  socket.binaryType = 'nodebuffer';
  const frames: Frame[] = [];
  let closed: { code: number; reason: string } | undefined;
  socket.on('message', (data: Buffer) => {
    const frame = decodeFrame(new Uint8Array(data));
    if (frame) frames.push(frame);
  });
  socket.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
  });
  const output = () =>
    Buffer.concat(
      frames.filter((f) => f.type === frameType.data).map((f) => Buffer.from(f.payload)),
    ).toString();
  return {
    socket,
    frames,
    output,
    closed: () => closed,
    opened: new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_request, response) =>
        reject(new Error(`HTTP ${response.statusCode}`)),
      );
      socket.once('error', reject);
    }),
  };
}

// The agent is held by node B; the session is started on and connected to node A.
describe.skipIf(!available)('a terminal session across cluster nodes (PostgreSQL)', () => {
  let nodes: TwoNodes;
  let clientA: EcsClient;
  let clientB: EcsClient;

  beforeAll(async () => {
    nodes = await startTwoNodes();
    clientA = ecsClient(nodes.nodeA.endpoint, nodes.rootKey.id, nodes.rootKey.secret);
    clientB = ecsClient(nodes.nodeB.endpoint, nodes.rootKey.id, nodes.rootKey.secret);
  });

  afterAll(async () => {
    await nodes?.stop();
  });

  const start = async () =>
    (
      await clientA.startTerminalSession(
        new Ecs.StartTerminalSessionRequest({ regionId: region, instanceId: [nodes.agent.instanceId] }),
      )
    ).body;

  it('runs a shell on the agent of node B through node A, and EndTerminalSession on node B ends it', async () => {
    const body = await start();
    expect(body?.webSocketUrl).toContain(nodes.nodeA.endpoint);
    const client = openClient(`${body?.webSocketUrl}?token=${body?.securityToken}`);
    await client.opened;
    client.socket.send(resizeFrame(91, 17));
    client.socket.send(dataFrame(0, Buffer.from('stty size; echo "sum=$((40+2))"\r')));
    await waitFor(
      'the shell to answer',
      () => (client.output().includes('sum=42') ? true : undefined),
      30_000,
    );
    expect(client.output()).toContain('17 91');
    // The same URL again is refused: once only.
    await expect(openClient(`${body?.webSocketUrl}?token=${body?.securityToken}`).opened).rejects.toThrow(
      /403/,
    );
    // Node B does not relay it: the end reaches node A through the node bus.
    // The agent runs on this machine: the sleep it starts is visible here, and must end with the session.
    const sleep = `sleep 600.${Date.now() % 1000}`;
    const running = () => spawnSync('pgrep', ['-f', `^${sleep}$`]).status === 0;
    client.socket.send(dataFrame(0, Buffer.from(`${sleep}\r`)));
    await waitFor('the sleep to start', () => (running() ? true : undefined));
    await clientB.endTerminalSession(
      new Ecs.EndTerminalSessionRequest({ regionId: region, sessionId: body?.sessionId }),
    );
    expect(await waitFor('the close', () => client.closed())).toEqual({ code: 1000, reason: 'EndedByApi' });
    const session = await waitFor('the session ended', async () => {
      const found = (
        await clientB.describeTerminalSessions(
          new Ecs.DescribeTerminalSessionsRequest({ regionId: region, sessionId: body?.sessionId }),
        )
      ).body?.sessions?.session?.[0];
      return found?.connections?.connection?.[0]?.status === 'Closed' ? found : undefined;
    });
    expect(session?.connections?.connection?.[0]?.closedReason).toBe('EndedByApi');
    await waitFor('the sleep to be killed', () => (running() ? undefined : true));
  });

  it('refuses a forged token on either node', async () => {
    const body = await start();
    for (const node of [nodes.nodeA, nodes.nodeB]) {
      const forged = openClient(
        `ws://${node.endpoint}/session/v1/${body?.sessionId}?token=${'A'.repeat(43)}`,
      );
      await expect(forged.opened).rejects.toThrow(/403/);
    }
    // The real token still works once, on node B this time: any node takes the client.
    const client = openClient(
      `ws://${nodes.nodeB.endpoint}/session/v1/${body?.sessionId}?token=${body?.securityToken}`,
    );
    await client.opened;
    client.socket.send(dataFrame(0, Buffer.from('exit 5\r')));
    expect(await waitFor('the close', () => client.closed(), 30_000)).toEqual({
      code: 1000,
      reason: 'ShellExited',
    });
    const exit = client.frames.find((f) => f.type === frameType.exit);
    expect(JSON.parse(Buffer.from(exit?.payload ?? []).toString())).toEqual({ exitCode: 5 });
  });
});
