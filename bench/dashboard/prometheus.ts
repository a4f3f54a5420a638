import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../test/helpers/deadline.js';

/** Debian's package; another build with OPENASSIST_PROMETHEUS. */
export const prometheusPath = process.env.OPENASSIST_PROMETHEUS || '/usr/bin/prometheus';

/** One series of a range query: its labels and [unix seconds, value] points. */
export interface Series {
  readonly labels: Record<string, string>;
  readonly points: readonly (readonly [number, number])[];
}

export interface Prometheus {
  readonly url: string;
  queryRange(expr: string, startS: number, endS: number, stepS: number): Promise<Series[]>;
  /** An instant query's first value (0 when empty). */
  queryValue(expr: string): Promise<number>;
  /** Resolves once every target has been scraped after `unixS`, so what happened before it is in. */
  scrapedAfter(unixS: number): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The scrape configuration: one job per deployment, scraped every `intervalS`, all on loopback. */
export function scrapeConfig(jobs: readonly { job: string; target: string }[], intervalS: number): string {
  const lines = [
    'global:',
    `  scrape_interval: ${intervalS}s`,
    `  scrape_timeout: ${intervalS}s`,
    `  evaluation_interval: ${intervalS}s`,
    'scrape_configs:',
  ];
  for (const { job, target } of jobs) {
    lines.push(
      `  - job_name: ${job}`,
      '    metrics_path: /metrics',
      `    static_configs: [{ targets: ["${target}"] }]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Starts a real Prometheus with a temporary config and storage; resolves once it is ready. */
export async function startPrometheus(config: string): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'openassist-prometheus-'));
  await writeFile(join(dir, 'prometheus.yml'), config);
  const url = `http://127.0.0.1:${await freePort()}`;
  const child: ChildProcess = spawn(
    prometheusPath,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${url.slice('http://'.length)}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-10_000);
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const api = async (path: string, params: Record<string, string>) => {
    const response = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params)}`);
    const body = (await response.json()) as { status: string; error?: string; data: { result: unknown[] } };
    if (body.status !== 'success') throw new Error(`Prometheus ${path} ${params.query}: ${body.error}`);
    return body.data.result;
  };
  const queryValue = async (expr: string) => {
    const [first] = (await api('query', { query: expr })) as { value: [number, string] }[];
    return first ? Number(first.value[1]) : 0;
  };
  try {
    await waitFor(
      'Prometheus to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok || undefined;
      },
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    async queryRange(expr, startS, endS, stepS) {
      const result = (await api('query_range', {
        query: expr,
        start: String(startS),
        end: String(endS),
        step: String(stepS),
      })) as { metric: Record<string, string>; values: [number, string][] }[];
      return result.map(({ metric, values }) => ({
        labels: metric,
        points: values.map(([t, v]) => [t, Number(v)] as const).filter(([, v]) => Number.isFinite(v)),
      }));
    },
    queryValue,
    async scrapedAfter(unixS) {
      await waitFor(
        'a scrape of every target',
        async () => ((await queryValue('min(timestamp(up))')) > unixS ? true : undefined),
        30_000,
      );
    },
    stop,
  };
}
