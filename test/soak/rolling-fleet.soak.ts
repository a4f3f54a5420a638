import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadProcess, startLoadProcess } from '../../bench/load-process.js';
import { apiOf } from '../../bench/stats.js';
import { waitFor } from '../helpers/deadline.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { quick } from './soak-size.js';

const count = quick ? 300 : 2_000;
/** Each run lasts this long on its memory-mode identity, so the runs at once can be counted. */
const holdMs = 200;

// A rolling run (docs/rolling-runs.md) over a fleet selected by tag, far beyond InstanceId.N's 50:
// MaxConcurrency=10% holds the runs at once to a tenth of the fleet, as the load generator counts them.
describe(`soak: a rolling run over ${count} memory-mode agents selected by tag`, () => {
  let server: ServerProcess;
  let load: LoadProcess;
  let call: ReturnType<typeof apiOf>;

  beforeAll(async () => {
    server = await startServerProcess({ env: { OPENASSIST_LOG_LEVEL: 'warn' } });
    call = apiOf(server);
    const activations = [];
    // At most 1,000 registrations per activation.
    for (let left = count; left > 0; left -= 1_000) {
      const activation = await call('CreateActivation', { InstanceCount: String(Math.min(left, 1_000)) });
      activations.push({ id: String(activation.ActivationId), code: String(activation.ActivationCode) });
    }
    load = await startLoadProcess({
      serverUrl: server.url,
      activations,
      count,
      mode: 'memory',
      namePrefix: 'rolling-fleet',
      holdMs,
      timeoutMs: 5 * 60_000,
    });
    // TagResources takes 50 resources a call.
    for (let at = 0; at < count; at += 50) {
      const batch = load.instanceIds.slice(at, at + 50);
      await call('TagResources', {
        ResourceType: 'managedinstance',
        'Tag.1.Key': 'fleet',
        'Tag.1.Value': 'rolling',
        ...Object.fromEntries(batch.map((id, i) => [`ResourceId.${i + 1}`, id])),
      });
    }
  });

  afterAll(async () => {
    await load?.stop();
    await server?.stop();
  });

  it('completes every run with never more than 10% at once', async () => {
    const started = Date.now();
    const invoked = await call('RunCommand', {
      Type: 'RunShellScript',
      ContentEncoding: 'PlainText',
      CommandContent: 'echo rolling',
      'ResourceTag.1.Key': 'fleet',
      'ResourceTag.1.Value': 'rolling',
      MaxConcurrency: '10%',
    });
    const invokeId = String(invoked.InvokeId);
    const progress = await waitFor(
      'every run to succeed',
      async () => {
        const body = (await call('DescribeInvocations', { InvokeId: invokeId })) as {
          Invocations: { Invocation: { RollingProgress: Record<string, number> }[] };
        };
        const shown = body.Invocations.Invocation[0]?.RollingProgress;
        return shown?.Succeeded === count ? shown : undefined;
      },
      10 * 60_000,
    );
    const elapsedMs = Date.now() - started;
    expect(progress).toEqual({
      Targets: count,
      Started: count,
      Succeeded: count,
      Failed: 0,
      Cancelled: 0,
      Held: 0,
    });
    // The generator prints its count once a second: wait for the line after the last run.
    await waitFor('the generator to report every run', () =>
      load.finishedRuns() >= count ? true : undefined,
    );
    const most = load.mostRunning();
    console.log(`rolling run: ${count} runs of ${holdMs} ms, at most ${most} at once, in ${elapsedMs} ms`);
    expect(most).toBeLessThanOrEqual(count / 10);
    // Paced, not serialised: the slots are used.
    expect(most).toBeGreaterThanOrEqual(count / 20);
  });
});
