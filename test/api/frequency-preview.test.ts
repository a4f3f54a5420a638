import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawOptions, v3Raw } from '../helpers/raw-client.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
let base: RawOptions;

beforeAll(async () => {
  server = await startServerProcess();
  base = { url: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
});

afterAll(async () => {
  await server?.stop();
});

const preview = (params: Record<string, string>) =>
  v3Raw({ ...base, action: 'DescribeFrequencyPreview', params: { RegionId: 'cn-hangzhou', ...params } });

type Runs = {
  NextRunTimes: { NextRunTime: { Utc: string; Local: string; Dst?: string; DstNote?: string }[] };
  Kind: string;
  TimeZone: string;
};

describe('DescribeFrequencyPreview (an OpenAssist extension)', () => {
  it('lists the next runs of a rate, one interval apart', async () => {
    const response = await preview({ Frequency: 'rate(5m)', Count: '3' });
    const body = response.json as unknown as Runs;
    expect(body.Kind).toBe('rate');
    const times = body.NextRunTimes.NextRunTime.map((run) => Date.parse(run.Utc));
    expect(times[1]! - times[0]!).toBe(300_000);
    expect(times[2]! - times[1]!).toBe(300_000);
  });

  it('shows a cron in its own zone and in UTC', async () => {
    const response = await preview({ Frequency: '0 15 10 ? * * Asia/Shanghai', Count: '2' });
    const body = response.json as unknown as Runs;
    expect(body).toMatchObject({ Kind: 'cron', TimeZone: 'Asia/Shanghai' });
    for (const run of body.NextRunTimes.NextRunTime) {
      expect(run.Local).toMatch(/T10:15:00\+08:00$/);
      expect(run.Utc).toMatch(/T02:15:00Z$/);
    }
    const zoneless = (await preview({ Frequency: '0 0 12 * * ?', TimeZone: 'GMT-7:00', Count: '1' }))
      .json as unknown as Runs;
    expect(zoneless.NextRunTimes.NextRunTime[0]?.Utc).toMatch(/T19:00:00Z$/);
  });

  it('flags a run that a DST gap moved, and a wall time that occurs twice', async () => {
    // Every last Sunday of March, 01:30 does not exist in London: the run fires at 02:00 BST.
    const spring = (await preview({ Frequency: '0 30 1 ? 3 SUN Europe/London', Count: '5' }))
      .json as unknown as Runs;
    const runs = spring.NextRunTimes.NextRunTime;
    const moved = runs.filter((run) => run.Dst);
    expect(moved).toEqual([
      {
        Utc: expect.stringMatching(/T01:00:00Z$/),
        Local: expect.stringMatching(/T02:00:00\+01:00$/),
        Dst: 'Gap',
        DstNote: 'moved: 01:00-02:00 does not exist (DST starts), so the run fires at 02:00',
      },
    ]);
    for (const run of runs.filter((run) => !run.Dst)) expect(run.Local).toMatch(/T01:30:00\+00:00$/);
    const autumn = (await preview({ Frequency: '0 30 1 ? 10 SUN', TimeZone: 'Europe/London', Count: '5' }))
      .json as unknown as Runs;
    expect(autumn.NextRunTimes.NextRunTime.filter((run) => run.Dst)).toEqual([
      {
        Utc: expect.stringMatching(/T00:30:00Z$/),
        Local: expect.stringMatching(/T01:30:00\+01:00$/),
        Dst: 'Repeated',
        DstNote: '01:30 occurs twice (DST ends); this run is the first',
      },
    ]);
  });

  it('refuses what InvokeCommand refuses, with the same code', async () => {
    const malformed = await preview({ Frequency: '0 0/30 10-11 * ? 2022 GMT +8:00' });
    expect([malformed.status, malformed.json.Code]).toEqual([400, 'InvalidParam.Frequency']);
    expect(String(malformed.json.Message)).toContain('0 0/30 10-11 * * ? 2022 GMT+8:00');
    expect((await preview({ Frequency: 'rate(1m)', Timeout: '120' })).json.Code).toBe(
      'InvalidParam.Frequency',
    );
    expect((await preview({ Frequency: 'rate(5m)', Count: '0' })).json.Code).toBe('InvalidParameter');
    expect((await preview({ Frequency: 'rate(5m)', TimeZone: 'Mars/Olympus' })).json.Code).toBe(
      'InvalidParameter',
    );
  });
});
