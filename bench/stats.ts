import { callApi } from '../src/client/api.js';
import type { ServerProcess } from '../test/helpers/server-process.js';

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;

/** Median, p99 and maximum, rounded to 0.01 ms. */
export function summary(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? 0),
  };
}

/** A signed API call to a server under test, in region cn-hangzhou; anything but 200 throws. */
export function apiOf(server: ServerProcess) {
  const client = {
    endpoint: server.url,
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
  };
  return async (action: string, params: Record<string, string>) => {
    const response = await callApi(
      client,
      action,
      new Map(Object.entries({ RegionId: 'cn-hangzhou', ...params })),
    );
    if (response.status !== 200) throw new Error(`${action}: ${JSON.stringify(response.body)}`);
    return response.body;
  };
}
