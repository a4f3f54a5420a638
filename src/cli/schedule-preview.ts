import { callApi } from '../client/api.js';
import { type ClientFlags, loadClientConfig } from './client-config.js';

export interface PreviewFlags extends ClientFlags {
  count?: string | undefined;
  tz?: string | undefined;
  timeout?: string | undefined;
}

interface Preview {
  Kind: string;
  TimeZone: string;
  NextRunTimes: { NextRunTime: { Utc: string; Local: string }[] };
}

/** `openassist schedule preview '<Frequency>'`: the next run times, in the schedule's zone and in UTC. */
export async function schedulePreview(
  frequency: string,
  flags: PreviewFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const config = loadClientConfig(flags, env);
  const params = new Map([
    ['RegionId', config.region],
    ['Frequency', frequency],
    ['Count', flags.count ?? '10'],
  ]);
  if (flags.tz) params.set('TimeZone', flags.tz);
  if (flags.timeout) params.set('Timeout', flags.timeout);
  const response = await callApi(config, 'DescribeFrequencyPreview', params);
  if (response.status >= 400) {
    process.stderr.write(`${String(response.body.Code)}: ${String(response.body.Message)}\n`);
    return 1;
  }
  const preview = response.body as unknown as Preview;
  process.stdout.write(`${preview.Kind} schedule, zone ${preview.TimeZone}\n`);
  for (const run of preview.NextRunTimes.NextRunTime) process.stdout.write(`  ${run.Local}   ${run.Utc}\n`);
  return 0;
}
