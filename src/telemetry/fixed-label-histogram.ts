import type { Metric, Registry } from 'prom-client';

export interface FixedLabelHistogramConfig<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelName: string;
  /** Every value the label can take: each gets its counts up front. */
  readonly labelValues: readonly L[];
  /** Upper bounds in ascending order; `+Inf` is added. */
  readonly buckets: readonly number[];
  readonly registry: Registry;
}

/** One line of the exposition, as prom-client's registry reads it. */
interface Sample {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/** One label value's counts: per bucket (not cumulative; the last is `+Inf`), their sum and count. */
interface Series {
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram for the hottest path: every statement a call sends to the store is observed (18 an
 * InvokeCommand with its run on SQLite). prom-client's `observe` validates and hashes its labels on
 * every call (0.6-0.9 µs here); here each label value owns its counts, found by a map lookup, and
 * prom-client reads them only when scraped, in the same exposition as its own histograms.
 */
export class FixedLabelHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  /** As prom-client's metrics name theirs (what reads the registry's catalogue finds). */
  readonly labelNames: readonly string[];
  private readonly bounds: readonly number[];
  private readonly labelName: string;
  private readonly series = new Map<L, Series>();

  constructor(config: FixedLabelHistogramConfig<L>) {
    this.name = config.name;
    this.help = config.help;
    this.labelName = config.labelName;
    this.labelNames = [config.labelName];
    this.bounds = config.buckets;
    for (const value of config.labelValues) {
      this.series.set(value, { buckets: new Float64Array(config.buckets.length + 1), sum: 0, count: 0 });
    }
    // prom-client reads any object with this shape (`get`); its types name only its own classes.
    config.registry.registerMetric(this as unknown as Metric);
  }

  /** Counts one value; a label value outside the fixed set, or a value that is no finite number, is ignored. */
  observe(label: L, value: number): void {
    const series = this.series.get(label);
    if (!series || !Number.isFinite(value)) return;
    const { bounds } = this;
    let bucket = 0;
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
    series.buckets[bucket] = (series.buckets[bucket] as number) + 1;
    series.sum += value;
    series.count += 1;
  }

  /** What prom-client's registry reads at scrape time: label values never observed are left out, as prom-client does. */
  async get() {
    const values: Sample[] = [];
    for (const [label, series] of this.series) {
      if (series.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += series.buckets[i] as number;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: {
            [this.labelName]: label,
            le: i < this.bounds.length ? (this.bounds[i] as number) : '+Inf',
          },
          value: cumulative,
        });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: label }, value: series.sum });
      values.push({
        metricName: `${this.name}_count`,
        labels: { [this.labelName]: label },
        value: series.count,
      });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const series of this.series.values()) {
      series.buckets.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
