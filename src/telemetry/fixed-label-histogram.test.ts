import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../test/helpers/metrics-scrape.js';
import { FixedLabelHistogram } from './fixed-label-histogram.js';

const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.01, 1];
type Operation = 'read' | 'write' | 'transaction';

/** Both histograms, each on a registry of its own, fed the same observations. */
function pair() {
  const ours = new Registry();
  const theirs = new Registry();
  const fixed = new FixedLabelHistogram<Operation>({
    name: 'statement_seconds',
    help: 'Statements.',
    labelName: 'operation',
    labelValues: ['read', 'write', 'transaction'],
    buckets,
    registry: ours,
  });
  const reference = new Histogram({
    name: 'statement_seconds',
    help: 'Statements.',
    labelNames: ['operation'],
    buckets,
    registers: [theirs],
  });
  const observe = (operation: Operation, value: number) => {
    fixed.observe(operation, value);
    reference.observe({ operation }, value);
  };
  const samples = async (registry: Registry) => {
    const scrape = parseExposition(await registry.metrics());
    return [...scrape.names()].sort().map((name) => ({
      name,
      series: scrape
        .series(name)
        .map(({ labels, value }) => ({ labels: Object.entries(labels).sort().join(';'), value }))
        .sort((a, b) => a.labels.localeCompare(b.labels)),
    }));
  };
  return {
    fixed,
    observe,
    ours: () => samples(ours),
    theirs: () => samples(theirs),
    text: () => ours.metrics(),
  };
}

describe('FixedLabelHistogram', () => {
  it("scrapes exactly as prom-client's histogram fed the same values, bounds inclusive", async () => {
    const { observe, ours, theirs, text } = pair();
    // On a bound, between bounds, below the first, above the last, and zero.
    const values = [0.0001, 0.00025, 0.0003, 0.00005, 0, 0.5, 1, 3.2, 0.001, 0.0100001];
    values.forEach((value, i) => {
      observe('read', value);
      if (i % 3 === 0) observe('write', value * 2);
    });
    expect(await ours()).toEqual(await theirs());
    const exposition = await text();
    expect(exposition).toContain('# TYPE statement_seconds histogram');
    expect(exposition).toMatch(/statement_seconds_bucket\{.*le="\+Inf".*\} 10/);
    // A label value never observed is not exposed, as prom-client does.
    expect(exposition).not.toContain('transaction');
  });

  it('ignores values that are no finite number and label values outside its set', async () => {
    const { fixed, observe, ours, theirs } = pair();
    observe('transaction', 0.002);
    fixed.observe('read', Number.NaN);
    fixed.observe('read', Number.POSITIVE_INFINITY);
    fixed.observe('other' as Operation, 0.001);
    expect(await ours()).toEqual(await theirs());
  });

  it('starts over when reset', async () => {
    const { fixed, ours } = pair();
    fixed.observe('read', 0.001);
    fixed.reset();
    expect(await ours()).toEqual([]);
  });
});
