import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../src/domain/errors.js';
import { parseAgentMessage, parseServerMessage, registerPath } from '../../src/protocol/messages.js';
import { waitFor } from '../helpers/deadline.js';
import { helloMessage, openChannel, registerIdentity } from '../helpers/protocol-agent.js';
import { Ecs, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// Frames shaped like the protocol's, with every field free: the parsers must sort them, never throw.
const frame = fc.oneof(
  fc.string(),
  fc.json(),
  fc
    .record({
      type: fc.constantFrom('hello', 'heartbeat', 'event', 'shutdown', 'task', 'welcome', 'cancel', 'ack'),
      rest: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue()),
      event: fc.record({
        kind: fc.constantFrom('accepted', 'started', 'output', 'finished'),
        more: fc.jsonValue(),
      }),
    })
    .map(({ type, rest, event }) =>
      JSON.stringify({ ...rest, type, event: { ...event, ...(rest as object) } }),
    ),
);

const deepJson = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('protocol parsers', () => {
  it('never throw, whatever text arrives', () => {
    fc.assert(
      fc.property(frame, (text) => {
        parseAgentMessage(text);
        parseServerMessage(text);
      }),
      { numRuns: 2000 },
    );
    for (const text of [
      deepJson(100_000),
      `{"type":"hello","x":${deepJson(50_000)}}`,
      '\u0000',
      '"\ud800"',
    ]) {
      expect(parseAgentMessage(text)).toBeUndefined();
      expect(parseServerMessage(text)).toBeUndefined();
    }
  });
});

describe('a hostile agent against a real server', () => {
  let server: ServerProcess;
  let activation: { id: string; code: string };

  beforeAll(async () => {
    // Hundreds of failed registrations from one address on purpose: not throttled here.
    server = await startServerProcess({ env: { OPENASSIST_AUTH_FAILURES_PER_MINUTE: '100000' } });
    const sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await sdk.createActivation(
      new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou', instanceCount: 1000 }),
    );
    activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
  });

  afterAll(async () => {
    await server?.stop();
  });

  const serverAnswersCatalogued = async (response: Response) => {
    expect(response.status).toBeLessThan(500);
    if (response.status >= 400) {
      const body = (await response.json()) as { Code: string };
      expect(Object.keys(errorCatalogue)).toContain(body.Code);
    }
  };

  it('registration answers arbitrary bodies with a catalogued 4xx, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          frame,
          fc
            .record({ activationId: fc.string(), activationCode: fc.string() })
            .map((body) => JSON.stringify(body)),
          fc.constant(deepJson(100_000)),
        ),
        async (body) => {
          const response = await fetch(new URL(registerPath, server.url), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          await serverAnswersCatalogued(response);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a registered agent sending arbitrary frames is cut off or ignored; the server keeps serving', async () => {
    const identity = await registerIdentity(server.url, activation, {
      hostname: 'hostile',
      agentVersion: '0.3.0',
    });
    const { instanceId } = identity;
    const hello = JSON.stringify(helloMessage({ hostname: 'hostile' }));
    // The identity is genuine: a well-formed hello is welcomed, so what follows reaches the channel.
    const genuine = openChannel(server.url, identity);
    genuine.once('open', () => genuine.send(hello));
    const first = await new Promise<string>((resolve) =>
      genuine.once('message', (data) => resolve(String(data))),
    );
    expect(JSON.parse(first)).toMatchObject({ type: 'welcome', instanceId });
    genuine.close();
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
        const socket = openChannel(server.url, identity);
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        socket.on('error', () => {});
        await new Promise<void>((resolve) => {
          socket.once('open', () => resolve());
          socket.once('close', () => resolve());
        });
        // Half the runs start with a valid hello, so the frames after it meet a welcomed channel.
        for (const text of frames.length % 2 ? [hello, ...frames] : frames) {
          if (socket.readyState === socket.OPEN) socket.send(text);
        }
        socket.close();
        await closed;
      }),
      { numRuns: 60 },
    );
    const health = await fetch(new URL('/health', server.url));
    expect(health.status).toBe(200);
    const sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await sdk.describeManagedInstances(
      new Ecs.DescribeManagedInstancesRequest({ regionId: 'cn-hangzhou', instanceId: [instanceId] }),
    );
    expect(body?.instances?.[0]?.instanceId).toBe(instanceId);
    await waitFor('the last channel to be closed on the server', async () => {
      const { body: status } = await sdk.describeCloudAssistantStatus(
        new Ecs.DescribeCloudAssistantStatusRequest({ regionId: 'cn-hangzhou', instanceId: [instanceId] }),
      );
      return status?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.[0]
        ?.cloudAssistantStatus === 'false'
        ? true
        : undefined;
    });
    expect(server.stderr()).not.toContain('unexpected failure');
    expect(server.child.exitCode).toBeNull();
  });
});
