import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../test/helpers/error-code.js';
import { ApiError } from './errors.js';
import { dstMark, type Frequency, nextFireTimes, parseFrequency } from './frequency.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const context = (nowIso: string, timeoutSeconds = 60) => ({ nowMs: at(nowIso), timeoutSeconds });
const parse = (text: string, nowIso = '2026-01-01T00:00:00Z', timeoutSeconds = 60) =>
  parseFrequency(text, context(nowIso, timeoutSeconds));

/** The next `count` runs after `afterIso`, as ISO strings (instance zone Asia/Shanghai unless given). */
function runs(text: string, afterIso: string, count: number, defaultZone = 'Asia/Shanghai'): string[] {
  return nextFireTimes(parse(text, afterIso), at(afterIso), count, { defaultZone }).map(iso);
}

/** The message of the InvalidParam.Frequency that parsing throws. */
function refusal(text: string, nowIso = '2026-01-01T00:00:00Z', timeoutSeconds = 60): string {
  try {
    parse(text, nowIso, timeoutSeconds);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'InvalidParam.Frequency') return error.message;
    throw error;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('seed: cron expressions and their examples', () => {
  it('0 */20 * * * ? fires at :00, :20 and :40 (the parameter example)', () => {
    // 14:52 in Shanghai (the instance's zone) is 06:52Z.
    expect(runs('0 */20 * * * ?', '2026-05-01T06:52:00Z', 4)).toEqual([
      '2026-05-01T07:00:00Z',
      '2026-05-01T07:20:00Z',
      '2026-05-01T07:40:00Z',
      '2026-05-01T08:00:00Z',
    ]);
  });

  it('accepts the sample request 0 */20 * * * * (* in both day fields)', () => {
    expect(parse('0 */20 * * * *')).toEqual({
      kind: 'cron',
      text: '0 */20 * * * *',
      fields: '0 */20 * * * *',
      zone: undefined,
    });
  });

  it('0 15 10 ? * * 2022 Asia/Shanghai runs at 10:15 Shanghai every day of 2022, then never', () => {
    expect(runs('0 15 10 ? * * 2022 Asia/Shanghai', '2022-06-01T00:00:00Z', 2, 'UTC')).toEqual([
      '2022-06-01T02:15:00Z',
      '2022-06-02T02:15:00Z',
    ]);
    expect(runs('0 15 10 ? * * 2022 Asia/Shanghai', '2022-12-30T12:00:00Z', 3, 'UTC')).toEqual([
      '2022-12-31T02:15:00Z',
    ]);
    expect(refusal('0 15 10 ? * * 2022 Asia/Shanghai', '2023-01-01T00:00:00Z')).toMatch(/never fires/);
  });

  it('0 0/5 14 * 10 ? 2022/2 UTC runs 14:00-14:55 each October of every second year', () => {
    const october = runs('0 0/5 14 * 10 ? 2022/2 UTC', '2022-01-01T00:00:00Z', 12);
    expect(october[0]).toBe('2022-10-01T14:00:00Z');
    expect(october[11]).toBe('2022-10-01T14:55:00Z');
    expect(runs('0 0/5 14 * 10 ? 2022/2 UTC', '2022-10-31T14:52:00Z', 3)).toEqual([
      '2022-10-31T14:55:00Z',
      '2024-10-01T14:00:00Z', // 2023 skipped
      '2024-10-01T14:05:00Z',
    ]);
  });

  it('refuses the seed’s malformed 0 0/30 10-11 * ? 2022 GMT +8:00 and shows the corrected form', () => {
    const message = refusal('0 0/30 10-11 * ? 2022 GMT +8:00', '2022-01-01T00:00:00Z');
    expect(message).toMatch(/must not contain a space/);
    expect(message).toContain('"0 0/30 10-11 * * ? 2022 GMT+8:00"');
    // Without the space, the missing month field is still reported, with the same correction.
    const unspaced = refusal('0 0/30 10-11 * ? 2022 GMT+8:00', '2022-01-01T00:00:00Z');
    expect(unspaced).toMatch(/falls in the month field/);
    expect(unspaced).toContain('"0 0/30 10-11 * * ? 2022 GMT+8:00"');
  });

  it('runs the corrected form every half hour from 10:00 to 11:30 at UTC+8', () => {
    expect(runs('0 0/30 10-11 * * ? 2022 GMT+8:00', '2022-03-01T00:00:00Z', 5)).toEqual([
      '2022-03-01T02:00:00Z',
      '2022-03-01T02:30:00Z',
      '2022-03-01T03:00:00Z',
      '2022-03-01T03:30:00Z',
      '2022-03-02T02:00:00Z',
    ]);
  });
});

describe('seed: time zones (IANA name, GMT±H:MM, UTC; none = the instance’s zone)', () => {
  it('evaluates a cron in its suffix zone, whatever the instance’s zone', () => {
    const after = '2026-01-10T00:00:00Z';
    expect(runs('0 0 9 * * ? Asia/Shanghai', after, 1, 'UTC')).toEqual(['2026-01-10T01:00:00Z']);
    expect(runs('0 0 9 * * ? America/Los_Angeles', after, 1)).toEqual(['2026-01-10T17:00:00Z']);
    expect(runs('0 0 9 * * ? GMT-7:00', after, 1)).toEqual(['2026-01-10T16:00:00Z']);
    expect(runs('0 0 9 * * ? GMT+5:30', after, 1)).toEqual(['2026-01-10T03:30:00Z']);
    expect(runs('0 0 9 * * ? UTC', after, 1)).toEqual(['2026-01-10T09:00:00Z']);
    expect(parse('0 0 9 * * ? 2027 GMT+8:00')).toMatchObject({
      fields: '0 0 9 * * ? 2027',
      zone: { kind: 'offset', minutes: 480 },
    });
  });

  it('follows the instance’s zone when the cron names none', () => {
    const after = '2026-01-10T00:00:00Z';
    // 00:00Z is 09:00 in Tokyo: runs are strictly after `afterMs`, so the next is a day later.
    expect(runs('0 0 9 * * ?', after, 1, 'Asia/Tokyo')).toEqual(['2026-01-11T00:00:00Z']);
    expect(runs('0 0 9 * * ?', after, 1, 'Europe/Berlin')).toEqual(['2026-01-10T08:00:00Z']);
    expect(runs('0 0 9 * * ?', after, 1, 'Etc/UTC')).toEqual(['2026-01-10T09:00:00Z']);
  });

  it('refuses a zone that is none of the three forms, saying why', () => {
    expect(refusal('0 0 9 * * ? GMT+08:00')).toMatch(/leading zero.*GMT\+8:00/);
    expect(refusal('0 0 9 * * ? Mars/Olympus')).toMatch(/unknown time zone "Mars\/Olympus"/);
    expect(refusal('0 0 9 * * ? 2027 EST')).toMatch(/unknown time zone "EST"/);
    expect(refusal('0 0 9 * * ? GMT+8')).toMatch(/GMT\+H:MM/);
    expect(refusal('at(2027-06-06 13:15:30 GMT+08:00)')).toMatch(/leading zero/);
    expect(refusal('at(2027-06-06 13:15:30 GMT +8:00)')).toMatch(/space/);
    expect(refusal('at(2027-06-06 13:15:30 CST)')).toMatch(/unknown time zone "CST"/);
  });
});

describe('seed: rate expressions (60 s to 7 days, longer than the timeout, first run one interval in)', () => {
  it('reads rate(5m) and runs start-to-start from one interval after creation', () => {
    const frequency = parse('rate(5m)');
    expect(frequency).toEqual({ kind: 'rate', text: 'rate(5m)', intervalSeconds: 300 });
    const startMs = at('2026-01-01T00:00:00Z');
    const fire = (afterIso: string) =>
      nextFireTimes(frequency, at(afterIso), 2, { defaultZone: 'UTC', startMs }).map(iso);
    expect(fire('2026-01-01T00:00:00Z')).toEqual(['2026-01-01T00:05:00Z', '2026-01-01T00:10:00Z']);
    expect(fire('2026-01-01T00:05:00Z')).toEqual(['2026-01-01T00:10:00Z', '2026-01-01T00:15:00Z']);
    expect(fire('2026-01-01T01:02:03Z')).toEqual(['2026-01-01T01:05:00Z', '2026-01-01T01:10:00Z']);
    // Without a start, the interval counts from `afterMs`.
    expect(nextFireTimes(frequency, startMs, 1, { defaultZone: 'UTC' }).map(iso)).toEqual([
      '2026-01-01T00:05:00Z',
    ]);
  });

  it('reads every unit and both ends of the range', () => {
    expect(parse('rate(60s)', undefined, 10)).toMatchObject({ intervalSeconds: 60 });
    expect(parse('rate(1h)')).toMatchObject({ intervalSeconds: 3600 });
    expect(parse('rate(7d)')).toMatchObject({ intervalSeconds: 604_800 });
    expect(parse('rate(10080m)')).toMatchObject({ intervalSeconds: 604_800 });
  });

  it('refuses each broken rule', () => {
    expect(refusal('rate(30s)')).toBe(
      'The specified frequency is invalid. rate(30s): the interval must be 60 seconds to 7 days.',
    );
    expect(refusal('rate(59s)', undefined, 10)).toMatch(/60 seconds to 7 days/);
    expect(refusal('rate(8d)')).toMatch(/60 seconds to 7 days/);
    expect(refusal('rate(10081m)')).toMatch(/60 seconds to 7 days/);
    expect(refusal('rate(0m)')).toMatch(/60 seconds to 7 days/);
    for (const text of [
      'rate(5)',
      'rate(m)',
      'rate(-5m)',
      'rate(1.5h)',
      'rate(5M)',
      'Rate(5m)',
      'rate(5 m)',
    ]) {
      expect(refusal(text), text).toMatch(/write rate\(<n><s\|m\|h\|d>\)/);
    }
    expect(refusal('rate(5m)', undefined, 300)).toMatch(
      /interval \(300 s\) must be longer than the timeout \(300 s\)/,
    );
    expect(errorCodeOf(() => parse('rate(5m)', undefined, 299))).toBeUndefined();
  });
});

describe('seed: at expressions (one run; UTC by default; not in the past)', () => {
  const before2022 = '2022-01-01T00:00:00Z';

  it('reads the seed’s two examples and the default zone', () => {
    expect(parse('at(2022-06-06 13:15:30 Asia/Shanghai)', before2022)).toEqual({
      kind: 'at',
      text: 'at(2022-06-06 13:15:30 Asia/Shanghai)',
      atMs: at('2022-06-06T05:15:30Z'),
    });
    expect(parse('at(2022-06-06 13:15:30 GMT-7:00)', before2022)).toMatchObject({
      atMs: at('2022-06-06T20:15:30Z'),
    });
    expect(parse('at(2022-06-06 13:15:30)', before2022)).toMatchObject({ atMs: at('2022-06-06T13:15:30Z') });
    expect(parse('at(2022-06-06 13:15:30 UTC)', before2022)).toMatchObject({
      atMs: at('2022-06-06T13:15:30Z'),
    });
    expect(parse('at(2022-06-06 13:15:30 GMT+5:30)', before2022)).toMatchObject({
      atMs: at('2022-06-06T07:45:30Z'),
    });
  });

  it('fires once, then never', () => {
    const frequency = parse('at(2022-06-06 13:15:30 Asia/Shanghai)', before2022);
    const fire = (afterIso: string) =>
      nextFireTimes(frequency, at(afterIso), 5, { defaultZone: 'UTC' }).map(iso);
    expect(fire(before2022)).toEqual(['2022-06-06T05:15:30Z']);
    expect(fire('2022-06-06T05:15:30Z')).toEqual([]);
  });

  it('refuses a time at or before now', () => {
    expect(refusal('at(2022-06-06 13:15:30 Asia/Shanghai)', '2022-06-06T05:15:30Z')).toMatch(/in the past/);
    expect(refusal('at(2022-06-06 13:15:30)', '2026-01-01T00:00:00Z')).toMatch(/in the past/);
    expect(errorCodeOf(() => parse('at(2022-06-06 13:15:30 Asia/Shanghai)', '2022-06-06T05:15:29Z'))).toBe(
      undefined,
    );
  });

  it('refuses dates and times the calendar does not have', () => {
    for (const text of [
      'at(2027-02-30 10:00:00)',
      'at(2027-02-29 10:00:00)',
      'at(2027-13-01 10:00:00)',
      'at(2027-04-31 10:00:00)',
      'at(2027-01-01 24:00:00)',
      'at(2027-01-01 10:60:00)',
      'at(2027-01-01 10:00:60)',
    ]) {
      expect(refusal(text), text).toMatch(/does not exist in the calendar/);
    }
    expect(parse('at(2028-02-29 10:00:00)')).toMatchObject({ atMs: at('2028-02-29T10:00:00Z') });
  });

  it('refuses other layouts', () => {
    for (const text of ['at(2027-1-1 10:00:00)', 'at(2027-01-01T10:00:00)', 'at(2027-01-01)', 'at()']) {
      expect(refusal(text), text).toMatch(/write at\(yyyy-MM-dd HH:mm:ss <time zone>\)/);
    }
  });

  it('maps a DST gap to its end and a repeated time to its first occurrence (DESIGN §4)', () => {
    expect(parse('at(2026-03-08 02:30:00 America/Los_Angeles)')).toMatchObject({
      atMs: at('2026-03-08T10:00:00Z'),
    });
    expect(parse('at(2026-11-01 01:30:00 America/Los_Angeles)')).toMatchObject({
      atMs: at('2026-11-01T08:30:00Z'),
    });
  });
});

describe('DESIGN §4: the cron dialect’s rules (InvalidParam.Frequency)', () => {
  it('refuses an empty expression and a wrong number of fields', () => {
    expect(refusal('  ')).toMatch(/empty/);
    expect(refusal('*/20 * * * ?')).toMatch(/6 or 7 fields.*this one has 5/);
    expect(refusal('0 0 0 * * ? 2027 2028')).toMatch(/this one has 8/);
    expect(refusal('0 0 0 * * ? 2027 UTC 1')).toMatch(/this one has 9/);
  });

  it('refuses restricting both day-of-month and day-of-week', () => {
    expect(refusal('0 0 0 1 * MON')).toMatch(/day-of-month \(1\) and day-of-week \(MON\) cannot both be set/);
    expect(refusal('0 0 0 L * 5#3')).toMatch(/cannot both be set/);
  });

  it('allows ? only alone, in day-of-month or day-of-week', () => {
    expect(refusal('? 0 0 * * *')).toMatch(/"\?" may stand only alone/);
    expect(refusal('0 0 0 1? * ?')).toMatch(/"\?" may stand only alone/);
    expect(refusal('0 0 0 * * ? ?')).toMatch(/"\?" may stand only alone/);
  });

  it('refuses values outside each field’s range, and characters a field does not take', () => {
    expect(refusal('60 0 0 * * ?')).toMatch(/seconds field "60" has 60; values run from 0 to 59/);
    expect(refusal('0 0-60 0 * * ?')).toMatch(/minutes field/);
    expect(refusal('0 0 24 * * ?')).toMatch(/hours field/);
    expect(refusal('0 0 0 32 * ?')).toMatch(/day-of-month field "32"/);
    expect(refusal('0 0 0 0 * ?')).toMatch(/day-of-month field "0"/);
    expect(refusal('0 0 0 * 13 ?')).toMatch(/month field "13"/);
    expect(refusal('0 0 0 ? * 8')).toMatch(/day-of-week field "8"/);
    expect(refusal('0 0 0 ? * +MON')).toMatch(/day-of-week field "\+MON" has characters/);
    expect(refusal('0 0 L * * ?')).toMatch(/hours field "L" has characters/);
    expect(refusal('0 0 0 ? * FOO')).toMatch(
      /day-of-week field "FOO" has an unknown name "FOO"; names are SUN-SAT/,
    );
    expect(refusal('0 0 0 ? JANUARY *')).toMatch(/month field "JANUARY" has an unknown name .*JAN-DEC/);
    expect(refusal('0 0 0 LL * ?')).toMatch(/day-of-month field "LL" has an unknown name "LL"/);
    // What the front end lets through, croner still checks.
    expect(refusal('0 0 0 ? * 5#6')).toMatch(/the cron fields are not valid: nth weekday out of range/);
    expect(refusal('0 0 0 L-2 * ?')).toMatch(/the cron fields are not valid/);
  });

  it('keeps the year within 1970-2099 and refuses a schedule that never fires again', () => {
    expect(refusal('0 0 0 * * ? 2100')).toMatch(/year field "2100" has 2100; values run from 1970 to 2099/);
    expect(refusal('0 0 0 * * ? 1969-2030')).toMatch(/year field/);
    expect(refusal('0 0 0 * * ? 2027-2026')).toMatch(/From value is larger than to value/);
    expect(refusal('0 0 0 * * ? 2020,2021')).toMatch(/never fires/);
    expect(refusal('0 0 0 30 2 ?')).toMatch(/never fires/);
    expect(parse('0 0 0 * * ? 2099')).toMatchObject({ fields: '0 0 0 * * ? 2099' });
    expect(parse('0 0 0 * * ? 2020,2027')).toMatchObject({ kind: 'cron' });
  });

  it('refuses runs closer than 10 seconds or than the timeout (checked on the next 200 runs)', () => {
    expect(refusal('*/5 * * * * ?', undefined, 1)).toMatch(
      /runs 5 s apart; the minimum interval is 10 seconds/,
    );
    expect(refusal('0/5 * * * * ?', undefined, 1)).toMatch(/runs 5 s apart/);
    expect(refusal('0,5 0 0 1 1 ?', undefined, 1)).toMatch(/runs 5 s apart/);
    expect(errorCodeOf(() => parse('*/10 * * * * ?', undefined, 10))).toBeUndefined();
    expect(refusal('0 * * * * ?', undefined, 120)).toMatch(
      /runs 60 s apart, less than the timeout \(120 s\)/,
    );
    expect(errorCodeOf(() => parse('0 * * * * ?', undefined, 60))).toBeUndefined();
  });
});

describe('DESIGN §4: L, W, LW, #, leap days, names, day-of-week numbering and year steps', () => {
  const utc = (text: string, afterIso: string, count: number) => runs(text, afterIso, count, 'UTC');

  it('0 0 12 29 2 ? fires only on 29 February', () => {
    expect(utc('0 0 12 29 2 ?', '2026-01-01T00:00:00Z', 3)).toEqual([
      '2028-02-29T12:00:00Z',
      '2032-02-29T12:00:00Z',
      '2036-02-29T12:00:00Z',
    ]);
  });

  it('L, LW and W in day-of-month', () => {
    expect(utc('0 0 12 L * ?', '2024-01-01T00:00:00Z', 3)).toEqual([
      '2024-01-31T12:00:00Z',
      '2024-02-29T12:00:00Z',
      '2024-03-31T12:00:00Z',
    ]);
    // Last weekday: 2026-01-30 (Fri), 2026-02-27 (Fri), 2026-03-31 (Tue).
    expect(utc('0 0 12 LW * ?', '2026-01-01T00:00:00Z', 3)).toEqual([
      '2026-01-30T12:00:00Z',
      '2026-02-27T12:00:00Z',
      '2026-03-31T12:00:00Z',
    ]);
    // 2026-02-15 is a Sunday: the nearest weekday is Monday the 16th. 2026-08-01 is a Saturday and W
    // does not cross into July, so 1W is Monday the 3rd.
    expect(utc('0 0 12 15W * ?', '2026-02-01T00:00:00Z', 2)).toEqual([
      '2026-02-16T12:00:00Z',
      '2026-03-16T12:00:00Z',
    ]);
    expect(utc('0 0 12 1W 8 ?', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-08-03T12:00:00Z']);
  });

  it('# and L in day-of-week, with 0/7 = Sunday, 1 = Monday … 6 = Saturday', () => {
    expect(utc('0 0 12 ? * 5#3', '2026-01-01T00:00:00Z', 3)).toEqual([
      '2026-01-16T12:00:00Z', // third Friday
      '2026-02-20T12:00:00Z',
      '2026-03-20T12:00:00Z',
    ]);
    expect(utc('0 0 12 ? * FRI#3', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-16T12:00:00Z']);
    expect(utc('0 0 12 ? * 5L', '2026-01-01T00:00:00Z', 2)).toEqual([
      '2026-01-30T12:00:00Z', // last Friday
      '2026-02-27T12:00:00Z',
    ]);
    // 2026-01-04 is a Sunday.
    expect(utc('0 0 12 ? * 0', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-04T12:00:00Z']);
    expect(utc('0 0 12 ? * 7', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-04T12:00:00Z']);
    expect(utc('0 0 12 ? * SUN', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-04T12:00:00Z']);
    expect(utc('0 0 12 ? * 1', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-05T12:00:00Z']);
    expect(utc('0 0 12 ? * 6', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-03T12:00:00Z']);
    expect(utc('0 0 12 * * MON-FRI', '2026-01-02T13:00:00Z', 2)).toEqual([
      '2026-01-05T12:00:00Z',
      '2026-01-06T12:00:00Z',
    ]);
  });

  it('month names, lists, ranges and numeric-prefix steps', () => {
    expect(utc('0 0 0 1 JAN,JUL ?', '2026-01-02T00:00:00Z', 2)).toEqual([
      '2026-07-01T00:00:00Z',
      '2027-01-01T00:00:00Z',
    ]);
    expect(utc('0 0 0 1 MAR-MAY ?', '2026-01-02T00:00:00Z', 3)).toEqual([
      '2026-03-01T00:00:00Z',
      '2026-04-01T00:00:00Z',
      '2026-05-01T00:00:00Z',
    ]);
    expect(utc('0 15/20 8-9 * * ?', '2026-01-01T00:00:00Z', 4)).toEqual([
      '2026-01-01T08:15:00Z',
      '2026-01-01T08:35:00Z',
      '2026-01-01T08:55:00Z',
      '2026-01-01T09:15:00Z',
    ]);
  });

  it('year lists, ranges and steps; an open step ends at 2099', () => {
    expect(utc('0 0 0 1 1 ? 2027,2029-2030', '2026-06-01T00:00:00Z', 5)).toEqual([
      '2027-01-01T00:00:00Z',
      '2029-01-01T00:00:00Z',
      '2030-01-01T00:00:00Z',
    ]);
    expect(utc('0 0 0 1 1 ? 2095/2', '2090-06-01T00:00:00Z', 5)).toEqual([
      '2095-01-01T00:00:00Z',
      '2097-01-01T00:00:00Z',
      '2099-01-01T00:00:00Z',
    ]);
    expect(utc('0 0 0 1 1 ? */10', '2026-06-01T00:00:00Z', 2)).toEqual([
      '2030-01-01T00:00:00Z',
      '2040-01-01T00:00:00Z',
    ]);
  });
});

describe('DESIGN §4: DST in America/Los_Angeles (gap 2026-03-08, repeat 2026-11-01)', () => {
  const la = (text: string, afterIso: string, count: number) =>
    runs(text, afterIso, count, 'America/Los_Angeles');

  it('a wall time in the gap fires at the first instant after it (03:00 PDT = 10:00Z)', () => {
    expect(la('0 30 2 * * ?', '2026-03-08T08:00:00Z', 2)).toEqual([
      '2026-03-08T10:00:00Z',
      '2026-03-09T09:30:00Z',
    ]);
    // Two wall times in the gap meet at its end and fire once.
    expect(la('0 0,30 2 * * ?', '2026-03-08T08:00:00Z', 2)).toEqual([
      '2026-03-08T10:00:00Z',
      '2026-03-09T09:00:00Z',
    ]);
  });

  it('a wall time that occurs twice fires once, at its first occurrence (01:30 PDT = 08:30Z)', () => {
    expect(la('0 30 1 * * ?', '2026-11-01T07:00:00Z', 2)).toEqual([
      '2026-11-01T08:30:00Z',
      '2026-11-02T09:30:00Z',
    ]);
    expect(la('0 30 1 * * ?', '2026-11-01T08:45:00Z', 1)).toEqual(['2026-11-02T09:30:00Z']);
  });

  it('an interval schedule keeps firing through both', () => {
    expect(la('0 */20 * * * ?', '2026-03-08T09:00:00Z', 4)).toEqual([
      '2026-03-08T09:20:00Z',
      '2026-03-08T09:40:00Z', // 01:40 PST
      '2026-03-08T10:00:00Z', // 03:00 PDT
      '2026-03-08T10:20:00Z',
    ]);
    const fallBack = la('0 */20 * * * ?', '2026-11-01T07:50:00Z', 7);
    expect(fallBack).toEqual([
      '2026-11-01T08:00:00Z', // 01:00 PDT
      '2026-11-01T08:20:00Z',
      '2026-11-01T08:40:00Z',
      '2026-11-01T09:00:00Z', // 01:00 PST
      '2026-11-01T09:20:00Z',
      '2026-11-01T09:40:00Z',
      '2026-11-01T10:00:00Z', // 02:00 PST
    ]);
    expect(la('0 0 * * * ?', '2026-11-01T07:30:00Z', 3)).toEqual([
      '2026-11-01T08:00:00Z',
      '2026-11-01T09:00:00Z',
      '2026-11-01T10:00:00Z',
    ]);
  });
});

// --- property: croner through our front end agrees with a brute-force scan ---

const dayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The values a simple field matches: `*`, `?`, n, a-b, lists, `a/s`, `a-b/s`, `*\/s`, day names. */
function expand(field: string, min: number, max: number): Set<number> {
  const values = new Set<number>();
  for (const item of field.replace(/[A-Z]{3}/g, (name) => String(dayNames.indexOf(name))).split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const [from, to] =
      range === '*' || range === '?'
        ? [min, max]
        : range.includes('-')
          ? range.split('-').map(Number)
          : [Number(range), stepText === undefined ? Number(range) : max];
    for (let value = from!; value <= to!; value += step) values.add(value);
  }
  return values;
}

/** Every second of (after, end] that the expression matches, for a fixed UTC offset in minutes. */
function bruteForce(fields: string[], offsetMinutes: number, afterMs: number, endMs: number): number[] {
  const [sec = '', min = '', hour = '', dom = '', month = '', dow = '', year = '*'] = fields;
  const seconds = expand(sec, 0, 59);
  const sets = [expand(min, 0, 59), expand(hour, 0, 23), expand(month, 1, 12), expand(year, 1970, 2099)];
  const days = expand(dom, 1, 31);
  const weekdays = new Set([...expand(dow, 0, 7)].map((day) => day % 7));
  const found: number[] = [];
  const offsetMs = offsetMinutes * 60_000;
  for (let t = Math.floor(afterMs / 1000) * 1000 + 1000; t <= endMs; t += 1000) {
    if (!seconds.has(((((t + offsetMs) / 1000) % 60) + 60) % 60)) continue; // cheap test first
    const wall = new Date(t + offsetMs);
    const fieldValues = [
      wall.getUTCMinutes(),
      wall.getUTCHours(),
      wall.getUTCMonth() + 1,
      wall.getUTCFullYear(),
    ];
    if (!fieldValues.every((value, i) => sets[i]!.has(value))) continue;
    if (days.has(wall.getUTCDate()) && weekdays.has(wall.getUTCDay())) found.push(t);
  }
  return found;
}

describe('property: nextFireTimes agrees with a second-by-second scan (UTC and GMT+5:30)', () => {
  const secondsField = fc.constantFrom('0', '30', '0/15', '5,45', '10-40/10', '*/20');
  const minutesField = fc.constantFrom('0', '*', '*/7', '0/30', '5-10', '15,45', '50-59/3');
  const hoursField = fc.constantFrom('*', '0', '9-17', '*/6', '1,13,22', '20/2');
  const domField = fc.constantFrom('*', '?', '1-15', '10,20,31', '*/2', '28-31');
  const monthField = fc.constantFrom('*', '1-6', '*/2', '2,3', '12');
  const dowField = fc.constantFrom('*', '?', '1-5', '0,6', 'MON-FRI', '7', 'SAT');
  const yearField = fc.constantFrom(undefined, '*', '2026', '2026-2099/2', '2027,2028');
  const expression = fc
    .tuple(secondsField, minutesField, hoursField, domField, monthField, dowField, yearField)
    .map(([sec, min, hour, dom, month, dow, year]) => {
      // Restricting both day fields is refused, so when day-of-month is restricted, day-of-week is not.
      const day = dom !== '*' && dom !== '?' && dow !== '*' && dow !== '?' ? '?' : dow;
      return [sec, min, hour, dom, month, day, ...(year === undefined ? [] : [year])];
    });
  const dayMs = 86_400_000;

  /**
   * A window start on a random day of 2026-2027 whose month and year the fields allow (read with
   * the reference's own `expand`), so that most windows hold runs; any day when none is allowed.
   */
  function windowStart(fields: string[], offsetMinutes: number, pick: number, secondOfDay: number): number {
    const [months, years] = [expand(fields[4]!, 1, 12), expand(fields[6] ?? '*', 1970, 2099)];
    const days: number[] = [];
    for (let day = at('2026-01-01T00:00:00Z'); day < at('2028-01-01T00:00:00Z'); day += dayMs) {
      const date = new Date(day);
      if (months.has(date.getUTCMonth() + 1) && years.has(date.getUTCFullYear())) days.push(day);
    }
    const day = days[pick % Math.max(days.length, 1)] ?? at('2026-01-01T00:00:00Z') + pick * dayMs;
    return day - offsetMinutes * 60_000 + secondOfDay * 1000 + 500;
  }

  it('matches the scan over a two-day window', () => {
    fc.assert(
      fc.property(
        expression,
        fc.nat(729),
        fc.nat(86_399),
        fc.boolean(),
        (fields, pick, secondOfDay, suffixZone) => {
          const afterMs = windowStart(fields, suffixZone ? 330 : 0, pick, secondOfDay);
          const endMs = afterMs + 2 * dayMs;
          const text = fields.join(' ') + (suffixZone ? ' GMT+5:30' : '');
          let frequency: Frequency;
          try {
            frequency = parseFrequency(text, { nowMs: afterMs, timeoutSeconds: 0 });
          } catch (error) {
            // Only "never fires" may refuse these expressions; then the scan finds nothing either.
            expect((error as Error).message).toMatch(/never fires/);
            expect(bruteForce(fields, suffixZone ? 330 : 0, afterMs, endMs)).toEqual([]);
            return;
          }
          const expected = bruteForce(fields, suffixZone ? 330 : 0, afterMs, endMs).slice(0, 40);
          const actual = nextFireTimes(frequency, afterMs, 40, { defaultZone: 'UTC' }).filter(
            (t) => t <= endMs,
          );
          expect(actual.map(iso)).toEqual(expected.map(iso));
        },
      ),
      { numRuns: 50, seed: 20260101 },
    );
  });
});

describe('dstMark: what a preview flags about DST (Europe/London: gap 2027-03-28, repeat 2027-10-31)', () => {
  /** Each next fire time with its mark, the cron's zone or London for one that names none. */
  const marked = (text: string, afterIso: string, count: number) => {
    const frequency = parse(text, afterIso);
    return nextFireTimes(frequency, at(afterIso), count, { defaultZone: 'Europe/London' }).map((ms) => [
      iso(ms),
      dstMark(frequency, ms, 'Europe/London'),
    ]);
  };

  it('flags the run a gap moved (01:30 does not exist; it fires at 02:00 BST), and no other', () => {
    expect(marked('0 30 1 ? 3 SUN Europe/London', '2027-03-15T00:00:00Z', 3)).toEqual([
      ['2027-03-21T01:30:00Z', undefined],
      [
        '2027-03-28T01:00:00Z',
        { kind: 'gap', fromWallMs: at('2027-03-28T01:00:00Z'), toWallMs: at('2027-03-28T02:00:00Z') },
      ],
      ['2028-03-05T01:30:00Z', undefined],
    ]);
  });

  it('does not flag a wall time right after the gap that the schedule names itself', () => {
    expect(marked('0 0 2 ? 3 SUN', '2027-03-27T00:00:00Z', 1)).toEqual([['2027-03-28T01:00:00Z', undefined]]);
    // An interval schedule is not moved: it fires on through the gap, skipping the hour that is not.
    expect(marked('0 0 * * * ?', '2027-03-28T00:30:00Z', 2)).toEqual([
      ['2027-03-28T01:00:00Z', undefined],
      ['2027-03-28T02:00:00Z', undefined],
    ]);
  });

  it('flags a wall time that occurs twice, and which occurrence the run is', () => {
    expect(marked('0 30 1 ? 10 SUN', '2027-10-30T00:00:00Z', 2)).toEqual([
      ['2027-10-31T00:30:00Z', { kind: 'repeated', occurrence: 1 }],
      ['2028-10-01T00:30:00Z', undefined],
    ]);
    expect(marked('0 */30 * * * ?', '2027-10-30T23:45:00Z', 5)).toEqual([
      ['2027-10-31T00:00:00Z', { kind: 'repeated', occurrence: 1 }],
      ['2027-10-31T00:30:00Z', { kind: 'repeated', occurrence: 1 }],
      ['2027-10-31T01:00:00Z', { kind: 'repeated', occurrence: 2 }],
      ['2027-10-31T01:30:00Z', { kind: 'repeated', occurrence: 2 }],
      ['2027-10-31T02:00:00Z', undefined],
    ]);
  });

  it('flags nothing in a zone without DST, in a fixed offset, or for a rate', () => {
    expect(marked('0 30 1 * * ? Asia/Shanghai', '2027-03-27T00:00:00Z', 3).map(([, mark]) => mark)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(marked('0 30 1 * * ? GMT+1:00', '2027-03-27T00:00:00Z', 2).map(([, mark]) => mark)).toEqual([
      undefined,
      undefined,
    ]);
    expect(marked('rate(1h)', '2027-03-28T00:00:00Z', 2).map(([, mark]) => mark)).toEqual([
      undefined,
      undefined,
    ]);
  });
});
