import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { waitFor } from '../helpers/deadline.js';
import {
  type AgentIdentity,
  helloMessage,
  openChannel,
  ProtocolAgent,
  registerIdentity,
} from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';

/** The server process's resident memory in MiB, as the kernel counts it. */
function rssMiB(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) / 1024;
}

/** A channel that says nothing yet; resolves once open. Errors are expected (the server cuts it off). */
async function hostileChannel(serverUrl: string, identity: AgentIdentity): Promise<WebSocket> {
  const socket = openChannel(serverUrl, identity);
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('close', () => reject(new Error('the channel closed before it opened')));
  });
  return socket;
}

/**
 * Sends `frame` every 150 ms on a socket that has stopped reading, while the server's RSS is
 * sampled; stops after `forMs` or once the server passes `stopAboveMiB` (the bug would otherwise
 * take the machine's memory). Resolves with the highest RSS seen.
 */
async function flood(
  socket: WebSocket,
  frame: string,
  pid: number,
  forMs: number,
  stopAboveMiB: number,
): Promise<number> {
  // Really stops reading: the TCP socket is paused, so whatever the server sends piles up.
  socket.pause();
  let peak = rssMiB(pid);
  const until = Date.now() + forMs;
  while (Date.now() < until && peak < stopAboveMiB) {
    if (socket.readyState === socket.OPEN) socket.send(frame);
    await new Promise((resolve) => setTimeout(resolve, 150));
    peak = Math.max(peak, rssMiB(pid));
  }
  return peak;
}

/** Resumes reading and resolves with the close code once the channel has ended. */
function closedAfterResume(socket: WebSocket): Promise<number> {
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  if (socket.readyState === socket.CLOSED) return Promise.resolve(1006);
  socket.resume();
  return closed;
}

describe('an agent that floods the server and stops reading', () => {
  let server: ServerProcess;
  let sdk: EcsClient;
  let hostile: AgentIdentity;
  let peer: ProtocolAgent;

  beforeAll(async () => {
    server = await startServerProcess();
    sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await sdk.createActivation(
      new Ecs.CreateActivationRequest({ regionId: region, instanceCount: 10 }),
    );
    const activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
    hostile = await registerIdentity(server.url, activation, { hostname: 'hostile' });
    peer = await ProtocolAgent.register(server.url, activation, 'linux');
  });

  afterAll(async () => {
    peer?.close();
    await server?.stop();
  });

  it('keeps its memory bounded, keeps serving others and closes the hostile channel', async () => {
    const pid = server.child.pid as number;
    // One call first: the baseline is the server already serving the SDK.
    await sdk.describeRegions(new Ecs.DescribeRegionsRequest({}));
    const baseline = rssMiB(pid);
    const bound = baseline + 150;

    // Others are served all along: DescribeRegions in a loop, each answered within a few seconds.
    let flooding = true;
    let answered = 0;
    let slowestMs = 0;
    const failures: unknown[] = [];
    const others = (async () => {
      while (flooding) {
        const started = Date.now();
        try {
          await sdk.describeRegions(new Ecs.DescribeRegionsRequest({}));
          answered++;
        } catch (error) {
          failures.push(error);
        }
        slowestMs = Math.max(slowestMs, Date.now() - started);
      }
    })();

    const hostileSockets: WebSocket[] = [];
    try {
      // The reported attack: hellos listing 60,000 (unknown) schedules, every 150 ms, never reading.
      const first = await hostileChannel(server.url, hostile);
      hostileSockets.push(first);
      const huge = JSON.stringify(helloMessage({ hostname: 'hostile', schedules: Array(60_000).fill('x') }));
      expect(Buffer.byteLength(huge)).toBeLessThan(256 * 1024);
      const firstPeak = await flood(first, huge, pid, 6_000, bound);
      expect(firstPeak).toBeLessThan(bound);

      // Within every bound of a message, but still not reading: hellos with 2,000 distinct unknown ids.
      const second = await hostileChannel(server.url, hostile);
      hostileSockets.push(second);
      const ids = Array.from({ length: 2_000 }, (_, i) => `t-${i.toString(16).padStart(32, '0')}`);
      const full = JSON.stringify(helloMessage({ hostname: 'hostile', schedules: ids }));
      const secondPeak = await flood(second, full, pid, 3_000, bound);
      expect(secondPeak).toBeLessThan(bound);

      // Meanwhile another agent's run goes through.
      const { body } = await sdk.runCommand(
        new Ecs.RunCommandRequest({
          regionId: region,
          type: 'RunShellScript',
          commandContent: 'echo hi',
          instanceId: [peer.instanceId],
        }),
      );
      const invokeId = body?.invokeId ?? '';
      await waitFor('the other agent run to succeed', async () => {
        const { body: results } = await sdk.describeInvocationResults(
          new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId }),
        );
        const status = results?.invocation?.invocationResults?.invocationResult?.[0]?.invocationStatus;
        return status === 'Success' ? status : undefined;
      });
    } finally {
      // The loop ends whatever happens, so a failure above does not leave it calling a stopped server.
      flooding = false;
      await others;
    }
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    expect(slowestMs).toBeLessThan(5_000);

    // Both hostile channels were cut off: reading again finds them closed, not a backlog.
    const codes = await Promise.race([
      Promise.all(hostileSockets.map(closedAfterResume)),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the hostile channels are still open')), 10_000),
      ),
    ]);
    expect(codes).toHaveLength(2);
    expect(codes.every((code) => code !== 1000)).toBe(true);
    expect(server.child.exitCode).toBeNull();
  }, 60_000);
});

describe('an agent that keeps beating but stops reading its tasks', () => {
  let server: ServerProcess;
  let sdk: EcsClient;
  let identity: AgentIdentity;

  beforeAll(async () => {
    server = await startServerProcess({ env: { OPENASSIST_HEARTBEAT_S: '1' } });
    sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await sdk.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    identity = await registerIdentity(server.url, {
      id: body?.activationId ?? '',
      code: body?.activationCode ?? '',
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  const online = async (): Promise<boolean> => {
    const { body } = await sdk.describeCloudAssistantStatus(
      new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, instanceId: [identity.instanceId] }),
    );
    return (
      body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.[0]?.cloudAssistantStatus ===
      'true'
    );
  };

  it('is dropped once it leaves too much unread, and the server stays bounded', async () => {
    const pid = server.child.pid as number;
    const baseline = rssMiB(pid);
    const socket = await hostileChannel(server.url, identity);
    const welcomed = new Promise<void>((resolve) => socket.once('message', () => resolve()));
    socket.send(JSON.stringify(helloMessage({ hostname: 'deaf', schedules: [], runs: [] })));
    await welcomed;
    await waitFor('the deaf agent to be online', async () => ((await online()) ? true : undefined));
    // From now on it reads nothing, but beats, so it never looks silent.
    socket.pause();
    const beating = setInterval(() => {
      if (socket.readyState === socket.OPEN)
        socket.send(JSON.stringify({ type: 'heartbeat', activeTasks: 0 }));
    }, 300);
    try {
      // Tasks of 13 KB each (17 KB in Base64, under the 18 KB limit), in rounds, until the server gives up on the agent (or far too many).
      const script = `#${'x'.repeat(13_000)}`;
      let sent = 0;
      let dropped = false;
      while (!dropped && sent < 1_500) {
        await Promise.all(
          Array.from({ length: 25 }, () =>
            sdk.runCommand(
              new Ecs.RunCommandRequest({
                regionId: region,
                type: 'RunShellScript',
                commandContent: script,
                instanceId: [identity.instanceId],
              }),
            ),
          ),
        );
        sent += 25;
        dropped = !(await online());
      }
      // 13 KB × 1,500 is 20 MB: without a bound all of it would wait in the server for the agent.
      dropped ||= await waitFor('the deaf agent to be dropped', async () =>
        (await online()) ? undefined : true,
      );
      expect(dropped).toBe(true);
      expect(rssMiB(pid)).toBeLessThan(baseline + 150);
    } finally {
      clearInterval(beating);
      socket.terminate();
    }
  }, 120_000);
});
