import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadOutput } from '../../src/client/stream.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { fillDisk, mountSmallDisk, unmountSmallDisk } from '../helpers/small-disk.js';

// The server's data disk fills up while a script prints megabytes: no byte may be lost silently.
// Chunks the server cannot store must stay with the agent (never acknowledged) and arrive once space
// returns; the API answers the documented ServiceUnavailable meanwhile, and recovers by itself.
const region = 'cn-hangzhou';
// Lines "000001\n" … "900000\n" (6.3 MB), then "end" without a newline: 6,300,003 bytes.
const lines = 900_000;
const firstPart = 100_000;
const printed = `${Array.from({ length: lines }, (_, i) => `${String(i + 1).padStart(6, '0')}\n`).join('')}end`;
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

const scratch = await mkdtemp(join(tmpdir(), 'openassist-server-disk-full-'));
const dataDir = join(scratch, 'data');
await mkdir(dataDir);
const cannotMount = mountSmallDisk(dataDir, '48m');
if (cannotMount) console.warn(`skipping the server disk-full test: ${cannotMount}`);

/** An SDK call's outcome: its value, or the error code and HTTP status it was answered with. */
async function outcome<T>(call: Promise<T>): Promise<{ value: T } | { code: string; status: number }> {
  try {
    return { value: await call };
  } catch (error) {
    const { code, statusCode } = error as { code?: string; statusCode?: number };
    return { code: String(code), status: Number(statusCode) };
  }
}

describe.skipIf(cannotMount !== undefined)('the server data disk full while a script prints', () => {
  let server: ServerProcess;
  let client: EcsClient;
  let agent: AgentProcess;

  beforeAll(async () => {
    server = await startServerProcess({ dataDir, env: { OPENASSIST_LOG_LEVEL: 'info' } });
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: body?.activationId ?? '',
      activationCode: body?.activationCode ?? '',
      // Every byte is kept here: the agent's own cap on unacknowledged output is not what is tested.
      env: { OPENASSIST_AGENT_JOURNAL_RUN_OUTPUT_MAX: String(64 * 1024 * 1024) },
    });
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await rm(agent?.stateDir ?? '', { recursive: true, force: true });
    expect(await server?.stop()).toBe(0);
    unmountSmallDisk(dataDir);
    await rm(scratch, { recursive: true, force: true });
  });

  const result = (invokeId: string) =>
    client
      .describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({
          regionId: region,
          invokeId,
          contentEncoding: 'PlainText',
        }),
      )
      .then(({ body }) => body?.invocation?.invocationResults?.invocationResult?.[0]);

  async function run(script: string): Promise<string> {
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: script,
        instanceId: [agent.instanceId],
        timeout: 600,
      }),
    );
    return body?.invokeId ?? '';
  }

  it('keeps every byte (or counts it dropped), answers ServiceUnavailable while full, and recovers', async () => {
    const go = join(scratch, 'go');
    const invokeId = await run(
      [
        `seq -f '%06g' 1 ${firstPart}`,
        `while [ ! -e '${go}' ]; do sleep 0.1; done`,
        `seq -f '%06g' ${firstPart + 1} ${lines}`,
        "printf 'end'",
      ].join('\n'),
    );
    await waitFor(
      'the first part to be stored',
      async () => ((await result(invokeId))?.output?.endsWith(`${firstPart}\n`) ? true : undefined),
      60_000,
    );

    const filler = join(dataDir, 'filler');
    fillDisk(filler);
    await writeFile(go, '');
    // The server cannot store the rest: every answer it gives meanwhile is the documented 503.
    const refused = await waitFor(
      'the API to answer that the store is full',
      async () => {
        const answer = await outcome(result(invokeId));
        return 'code' in answer ? answer : undefined;
      },
      120_000,
    );
    expect(refused).toEqual({ code: 'ServiceUnavailable', status: 503 });
    await waitFor(
      'an agent event to be refused',
      () => (server.stderr().includes('storing an agent event failed') ? true : undefined),
      120_000,
    );

    await rm(filler);
    const ended = await waitFor(
      'the run to end once space returns',
      async () => {
        const answer = await outcome(result(invokeId));
        if ('code' in answer) {
          expect(answer).toEqual({ code: 'ServiceUnavailable', status: 503 });
          return undefined;
        }
        return answer.value?.invocationStatus === 'Running' ? undefined : answer.value;
      },
      240_000,
    );
    // The shown tail plus Dropped accounts for every printed byte; here none was dropped at all.
    expect(ended?.invocationStatus).toBe('Success');
    expect((ended?.output?.length ?? 0) + (ended?.dropped ?? 0)).toBe(printed.length);
    const whole = await downloadOutput(
      { endpoint: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
      invokeId,
      agent.instanceId,
    );
    expect(whole.length).toBe(printed.length);
    expect(sha256(whole)).toBe(sha256(printed));

    // The log names the real cause, not a failed rollback hiding it.
    expect(server.stderr()).toMatch(/database or disk is full/);
    expect(server.stderr()).not.toMatch(/cannot rollback/);
    const after = await run('echo after');
    const done = await waitFor(
      'a run after recovery',
      async () => {
        const row = await result(after);
        return row?.invocationStatus === 'Success' ? row : undefined;
      },
      60_000,
    );
    expect(done?.output).toBe('after\n');
  }, 600_000);
});
