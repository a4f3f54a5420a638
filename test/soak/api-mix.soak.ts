import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadProcess, startLoadProcess } from '../../bench/load-process.js';
import { rssMiB } from '../../bench/proc.js';
import { ApiCallError, invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { errorCatalogue } from '../../src/domain/errors.js';
import { Ecs, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { percentiles, quick } from './soak-size.js';

const clients = 200;
const durationMs = quick ? 15_000 : 120_000;
const warmUpMs = durationMs / 4;
/**
 * Growth of the server's RSS after warm-up that counts as a leak: SQLite's page cache
 * (`cache_size`, 64 MiB) legitimately fills as the database grows during the run, and V8
 * keeps growing its heap towards its steady size for a while; 48 MiB on top of both.
 */
const sqlitePageCacheMiB = 64;
const rssGrowthBoundMiB = sqlitePageCacheMiB + 48;

type Call = 'RunCommand' | 'DescribeInvocationResults' | 'DescribeInvocations' | 'StopInvocation';

// 200 API clients at once, mixing invokes, reads and stops against memory-mode agents: no 5xx,
// every refusal a catalogued code, the server's memory flat after warm-up.
describe(`soak: ${clients} concurrent API clients for ${durationMs / 1000} s`, () => {
  let server: ServerProcess;
  let fleet: LoadProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      env: { OPENASSIST_LOG_LEVEL: 'warn', OPENASSIST_DAILY_INVOCATION_QUOTA: '10000000' },
    });
    const sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await sdk.createActivation(
      new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou', instanceCount: 20 }),
    );
    fleet = await startLoadProcess({
      serverUrl: server.url,
      activations: [{ id: body?.activationId ?? '', code: body?.activationCode ?? '' }],
      count: 20,
      mode: 'memory',
    });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await server?.stop();
  });

  it(
    'answers every call without a 5xx and keeps its memory flat',
    async () => {
      const credentials: Credentials = {
        endpoint: server.url,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
      };
      const latencies: Record<Call, number[]> = {
        RunCommand: [],
        DescribeInvocationResults: [],
        DescribeInvocations: [],
        StopInvocation: [],
      };
      const refusals = new Map<string, number>();
      const serverErrors: string[] = [];
      const invokeIds: string[] = [];
      const instances = fleet.instanceIds;
      const started = Date.now();
      let warmRss = 0;
      const sampler = setTimeout(async () => {
        warmRss = await rssMiB(server.child.pid ?? 0);
      }, warmUpMs);

      const call = async (action: Call, params: Record<string, string>) => {
        const begun = performance.now();
        try {
          const body = await invoke<{ InvokeId?: string }>(credentials, action, {
            RegionId: 'cn-hangzhou',
            ...params,
          });
          if (body.InvokeId) invokeIds.push(body.InvokeId);
        } catch (error) {
          if (!(error instanceof ApiCallError)) throw error;
          if (error.status >= 500 || !(error.code in errorCatalogue))
            serverErrors.push(`${action}: ${error.message}`);
          else refusals.set(`${action} ${error.code}`, (refusals.get(`${action} ${error.code}`) ?? 0) + 1);
        }
        latencies[action].push(performance.now() - begun);
      };
      const recent = () =>
        invokeIds[Math.max(0, invokeIds.length - 1 - Math.floor(Math.random() * 50))] ?? 't-none';

      const client = async (n: number) => {
        while (Date.now() - started < durationMs) {
          const roll = (n + latencies.RunCommand.length) % 10;
          if (roll < 3) {
            await call('RunCommand', {
              Type: 'RunShellScript',
              CommandContent: 'echo soak',
              'InstanceId.1': instances[n % instances.length] ?? '',
            });
          } else if (roll < 7) {
            await call('DescribeInvocationResults', { InvokeId: recent() });
          } else if (roll < 9) {
            await call('DescribeInvocations', { PageSize: '10' });
          } else {
            await call('StopInvocation', { InvokeId: recent() });
          }
        }
      };
      await Promise.all(Array.from({ length: clients }, (_, n) => client(n)));
      clearTimeout(sampler);
      const endRss = await rssMiB(server.child.pid ?? 0);

      const summary = Object.fromEntries(
        Object.entries(latencies).map(([action, samples]) => [
          action,
          { calls: samples.length, ...percentiles(samples) },
        ]),
      );
      console.log(
        JSON.stringify(
          {
            clients,
            seconds: durationMs / 1000,
            latencyMs: summary,
            refusals: Object.fromEntries(refusals),
            warmRss,
            endRss,
          },
          (_, value) => (typeof value === 'number' ? Math.round(value * 10) / 10 : value),
        ),
      );
      expect(serverErrors).toEqual([]);
      expect(latencies.RunCommand.length).toBeGreaterThan(100);
      expect(warmRss).toBeGreaterThan(0);
      expect(endRss - warmRss).toBeLessThan(rssGrowthBoundMiB);
      expect(server.stderr()).not.toContain('unexpected failure');
    },
    durationMs + 120_000,
  );
});
