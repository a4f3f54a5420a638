import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ackFrame, decodeFrame, frameType } from '../../src/protocol/session-frames.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const catBytes = 200 * 1024 * 1024;
const maxGrowthBytes = 32 * 1024 * 1024;

const rssBytes = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
  return Number(line?.[1] ?? 0) * 1024;
};

// Flow control end to end: a shell printing 200 MiB to a client that reads at its own pace holds
// at most a window in flight, so neither the server nor the agent grows with the output.
describe('a 200 MiB cat through a session', () => {
  let server: ServerProcess;
  let agent: AgentProcess;
  let client: EcsClient;

  beforeAll(async () => {
    server = await startServerProcess();
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: body?.activationId ?? '',
      activationCode: body?.activationCode ?? '',
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
  });

  /** Runs `head -c bytes` of output through a session read by a slow client; the bytes read and the end. */
  async function catThroughSession(bytes: number, sampler?: () => void) {
    const body = (
      await client.startTerminalSession(
        new Ecs.StartTerminalSessionRequest({
          regionId: region,
          instanceId: [agent.instanceId],
          // No newline: the pty passes the bytes as they are.
          commandLine: `head -c ${bytes} /dev/zero | tr '\\0' a`,
        }),
      )
    ).body;
    const timer = sampler && setInterval(sampler, 20);
    const socket = new WebSocket(`${body?.webSocketUrl}?token=${body?.securityToken}`);
    socket.binaryType = 'nodebuffer';
    let received = 0;
    let closedReason = '';
    // A reader slower than the shell: each frame is acknowledged a turn later.
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(new Uint8Array(data));
      if (frame?.type !== frameType.data) return;
      received += frame.payload.byteLength;
      setImmediate(() => socket.send(ackFrame(frame.stream, frame.payload.byteLength)));
    });
    socket.on('close', (_code, reason) => {
      closedReason = reason.toString();
    });
    await waitFor('the whole output', () => (closedReason ? true : undefined), 180_000);
    clearInterval(timer);
    return { received, closedReason, sessionId: body?.sessionId };
  }

  it('keeps the RSS growth of the server and the agent under 32 MiB', async () => {
    // A first session of 32 MiB brings both processes to their working size (code paths, heap
    // spaces, buffers); the growth measured is what 200 MiB more would add.
    expect((await catThroughSession(32 * 1024 * 1024)).closedReason).toBe('ShellExited');
    const pids = { server: server.child.pid ?? 0, agent: agent.child.pid ?? 0 };
    const baseline = { server: rssBytes(pids.server), agent: rssBytes(pids.agent) };
    const peak = { ...baseline };
    const { received, closedReason, sessionId } = await catThroughSession(catBytes, () => {
      for (const name of ['server', 'agent'] as const)
        peak[name] = Math.max(peak[name], rssBytes(pids[name]));
    });
    expect(closedReason).toBe('ShellExited');
    expect(received).toBeGreaterThanOrEqual(catBytes);
    const growth = { server: peak.server - baseline.server, agent: peak.agent - baseline.agent };
    console.log(
      `200 MiB through a session: server +${(growth.server / 2 ** 20).toFixed(1)} MiB, agent +${(growth.agent / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(growth.server).toBeLessThan(maxGrowthBytes);
    expect(growth.agent).toBeLessThan(maxGrowthBytes);
    // Stored as the shell ended it.
    const session = (
      await client.describeTerminalSessions(
        new Ecs.DescribeTerminalSessionsRequest({ regionId: region, sessionId }),
      )
    ).body?.sessions?.session?.[0];
    expect(session?.connections?.connection?.[0]?.closedReason).toBe('ShellExited');
  }, 240_000);
});
