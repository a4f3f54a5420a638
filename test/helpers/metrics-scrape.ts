import { expect } from 'vitest';

/** One scrape of /metrics: every sample by metric name and labels. */
export interface Scrape {
  /** The sample of `name` with exactly these labels; 0 when absent (a counter not yet touched). */
  value(name: string, labels?: Record<string, string>): number;
  /** Every sample of one metric name (`_bucket` etc. are names of their own). */
  series(name: string): { labels: Record<string, string>; value: number }[];
  /** Every sample name in the exposition. */
  names(): Set<string>;
  readonly text: string;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

const keyOf = (labels: Record<string, string>): string =>
  Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name]}`)
    .join(',');

/** Reads the Prometheus text format (what prom-client writes: one sample per line, no timestamps). */
export function parseExposition(text: string): Scrape {
  const samples = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name = '', rawLabels = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, label = '', text] of rawLabels.matchAll(labelPair)) {
      labels[label] = (text ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const list = samples.get(name) ?? [];
    list.push({ labels, value: Number(value) });
    samples.set(name, list);
  }
  return {
    text,
    value(name, labels = {}) {
      const key = keyOf(labels);
      return samples.get(name)?.find((sample) => keyOf(sample.labels) === key)?.value ?? 0;
    },
    series: (name) => samples.get(name) ?? [],
    names: () => new Set(samples.keys()),
  };
}

/** GET /metrics; fails the test unless it answers 200 in the Prometheus text format. */
export async function scrapeMetrics(baseUrl: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`, { headers });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(text);
}
