import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadProcess, startLoadProcess } from '../../bench/load-process.js';
import { apiOf } from '../../bench/stats.js';
import { waitFor } from '../helpers/deadline.js';
import { type Scrape, scrapeMetrics } from '../helpers/metrics-scrape.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// 1,000 invocations over 100 instances (memory-mode load agents): the metrics' series must not
// grow with the instances, invocations or commands, and the counters must still add up.

const instances = 100;
const invocations = 1_000;
const perInvocation = 5;
const callsInFlight = 8;

/** Metric families (a histogram's _bucket, _sum and _count are one) and their label sets, `le` aside. */
function familiesOf(scrape: Scrape): Map<string, Set<string>> {
  const families = new Map<string, Set<string>>();
  for (const name of scrape.names()) {
    if (!name.startsWith('openassist_')) continue;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    const sets = families.get(family) ?? new Set<string>();
    for (const { labels } of scrape.series(name)) {
      const { le: _le, ...rest } = labels;
      sets.add(JSON.stringify(Object.entries(rest).sort()));
    }
    families.set(family, sets);
  }
  return families;
}

/** OpenAssist's own samples (prom-client's process metrics name GC kinds and handle types as they appear). */
const seriesCount = (scrape: Scrape): number =>
  [...scrape.names()]
    .filter((name) => name.startsWith('openassist_'))
    .reduce((sum, name) => sum + scrape.series(name).length, 0);

describe(`/metrics after ${invocations} invocations on ${instances} instances`, () => {
  let server: ServerProcess;
  let generator: LoadProcess;
  let call: ReturnType<typeof apiOf>;

  beforeAll(async () => {
    server = await startServerProcess();
    call = apiOf(server);
    const activation = await call('CreateActivation', { InstanceCount: String(instances) });
    generator = await startLoadProcess({
      serverUrl: server.url,
      activations: [{ id: String(activation.ActivationId), code: String(activation.ActivationCode) }],
      count: instances,
      mode: 'memory',
      namePrefix: 'cardinality',
    });
  }, 60_000);

  afterAll(async () => {
    await generator?.stop();
    await server?.stop();
  });

  /** `count` invocations, each of a command of its own, on `perInvocation` instances in turn. */
  async function invokeMany(first: number, count: number): Promise<void> {
    let next = first;
    await Promise.all(
      Array.from({ length: callsInFlight }, async () => {
        for (let n = next++; n < first + count; n = next++) {
          const targets = Array.from(
            { length: perInvocation },
            (_, i) => generator.instanceIds[(n * perInvocation + i) % instances] ?? '',
          );
          await call('RunCommand', {
            Type: 'RunShellScript',
            ContentEncoding: 'PlainText',
            CommandContent: `echo run ${n}`,
            KeepCommand: 'true',
            Name: `cardinality-${n}`,
            ...Object.fromEntries(targets.map((id, i) => [`InstanceId.${i + 1}`, id])),
          });
        }
      }),
    );
  }

  async function allEnded(expectedRuns: number): Promise<Scrape> {
    return waitFor(
      `${expectedRuns} runs ended`,
      async () => {
        const scrape = await scrapeMetrics(server.url);
        return scrape.value('openassist_runs_ended_total', { status: 'Success' }) >= expectedRuns
          ? scrape
          : undefined;
      },
      50_000,
    );
  }

  it('keeps every label bounded while the counters add up', async () => {
    // A first tenth, then the rest: the series after it are the series after all of it.
    await invokeMany(0, invocations / 10);
    const early = await allEnded((invocations / 10) * perInvocation);
    await invokeMany(invocations / 10, invocations - invocations / 10);
    const late = await allEnded(invocations * perInvocation);

    expect(late.value('openassist_invocations_created_total', { repeat_mode: 'Once' })).toBe(invocations);
    expect(late.value('openassist_runs_ended_total', { status: 'Success' })).toBe(
      invocations * perInvocation,
    );
    expect(late.value('openassist_api_requests_total', { action: 'RunCommand', code: 'Success' })).toBe(
      invocations,
    );
    expect(late.value('openassist_dispatch_latency_seconds_count', { stage: 'delivered' })).toBe(
      invocations * perInvocation,
    );
    expect(late.value('openassist_agents_connected')).toBe(instances);

    // No id of any kind as a label value; every family small; no growth from a tenth to all of it.
    const ids = /^(mi-|t-|c-|LTAI)|^\d+\.\d+\.\d+\.\d+$/;
    for (const name of late.names()) {
      for (const { labels } of late.series(name)) {
        for (const value of Object.values(labels)) expect(value, `${name} ${value}`).not.toMatch(ids);
      }
    }
    const families = familiesOf(late);
    for (const [family, sets] of families) expect(sets.size, family).toBeLessThanOrEqual(20);
    expect(seriesCount(late)).toBe(seriesCount(early));
    expect([...families.keys()].sort()).toEqual([...familiesOf(early).keys()].sort());
  }, 120_000);
});
