import { describe, expect, it } from 'vitest';
import { parseZone, utcZone, type Zone } from './time-zone.js';
import {
  insideWindows,
  parseWindow,
  type UpgradeWindow,
  upgradeDelayMs,
  windowMinutes,
  windowRemainingMs,
} from './upgrade-window.js';

const windows = (...texts: string[]): UpgradeWindow[] =>
  texts.map((text) => {
    const window = parseWindow(text);
    if (!window) throw new Error(`bad window ${text}`);
    return window;
  });
const zone = (text: string): Zone => {
  const parsed = parseZone(text);
  if (!parsed) throw new Error(`bad zone ${text}`);
  return parsed;
};
const at = (iso: string) => Date.parse(iso);
const minutes = 60_000;

describe('upgrade windows: parsing', () => {
  it.each([
    ['02:00-03:00', { startMinute: 120, endMinute: 180 }],
    ['23:30-00:30', { startMinute: 1410, endMinute: 30 }],
    ['00:00-23:59', { startMinute: 0, endMinute: 1439 }],
  ])('reads %s', (text, expected) => {
    expect(parseWindow(text)).toEqual(expected);
  });

  it.each(['2:00-03:00', '02:00-24:00', '02:60-03:00', '02:00 - 03:00', '02:00', '', '02:00-03:00-04:00'])(
    'refuses %j',
    (text) => {
      expect(parseWindow(text)).toBeUndefined();
    },
  );

  it('measures windows, across midnight too', () => {
    expect(windowMinutes(windows('02:00-03:30')[0] as UpgradeWindow)).toBe(90);
    expect(windowMinutes(windows('23:00-01:00')[0] as UpgradeWindow)).toBe(120);
    expect(windowMinutes(windows('05:00-05:00')[0] as UpgradeWindow)).toBe(24 * 60);
  });
});

describe('upgrade windows: is an instant inside', () => {
  it.each<[string, string[], string, string, number]>([
    // [case, windows, zone, instant, minutes left]
    ['inside, UTC', ['02:00-03:00'], 'UTC', '2026-06-01T02:15:00Z', 45],
    ['start is inside', ['02:00-03:00'], 'UTC', '2026-06-01T02:00:00Z', 60],
    ['end is outside', ['02:00-03:00'], 'UTC', '2026-06-01T03:00:00Z', 0],
    ['before', ['02:00-03:00'], 'UTC', '2026-06-01T01:59:00Z', 0],
    ['second window', ['02:00-03:00', '05:00-06:00'], 'UTC', '2026-06-01T05:30:00Z', 30],
    ['overlapping: the later end counts', ['02:00-04:00', '03:00-06:00'], 'UTC', '2026-06-01T03:30:00Z', 150],
    ['across midnight, before it', ['23:00-01:00'], 'UTC', '2026-06-01T23:30:00Z', 90],
    ['across midnight, after it', ['23:00-01:00'], 'UTC', '2026-06-02T00:30:00Z', 30],
    ['across midnight, after the end', ['23:00-01:00'], 'UTC', '2026-06-02T01:00:00Z', 0],
    ['fixed offset', ['02:00-03:00'], 'GMT+8:00', '2026-06-01T18:30:00Z', 30],
    ['fixed offset, outside in UTC terms', ['02:00-03:00'], 'GMT+8:00', '2026-06-01T02:30:00Z', 0],
    ['negative offset', ['22:00-23:00'], 'GMT-7:00', '2026-06-02T05:10:00Z', 50],
    ['IANA zone', ['02:00-03:00'], 'Asia/Shanghai', '2026-06-01T18:59:00Z', 1],
    // New York springs forward on 2026-03-08 at 02:00 EST to 03:00 EDT: 02:xx does not occur.
    ['DST gap: the skipped hour never opens', ['02:00-03:00'], 'America/New_York', '2026-03-08T07:00:00Z', 0],
    ['DST gap: before it', ['02:00-03:00'], 'America/New_York', '2026-03-08T06:59:00Z', 0],
    ['DST gap: the hour after it', ['03:00-04:00'], 'America/New_York', '2026-03-08T07:30:00Z', 30],
    // Falls back on 2026-11-01 at 02:00 EDT to 01:00 EST: 01:xx occurs twice.
    ['DST repeat: first 01:30', ['01:00-02:00'], 'America/New_York', '2026-11-01T05:30:00Z', 30],
    ['DST repeat: second 01:30', ['01:00-02:00'], 'America/New_York', '2026-11-01T06:30:00Z', 30],
    [
      'summer time shifts the window by the offset',
      ['02:00-03:00'],
      'Europe/Berlin',
      '2026-07-01T00:30:00Z',
      30,
    ],
    ['winter time', ['02:00-03:00'], 'Europe/Berlin', '2026-01-15T01:30:00Z', 30],
  ])('%s', (_case, texts, zoneText, iso, minutesLeft) => {
    expect(windowRemainingMs(windows(...texts), zone(zoneText), at(iso))).toBe(minutesLeft * minutes);
    expect(insideWindows(windows(...texts), zone(zoneText), at(iso))).toBe(minutesLeft > 0);
  });

  it('has no window: always open', () => {
    expect(windowRemainingMs([], utcZone, at('2026-06-01T12:00:00Z'))).toBe(Number.POSITIVE_INFINITY);
    expect(insideWindows([], utcZone, at('2026-06-01T12:00:00Z'))).toBe(true);
  });

  it('counts seconds, not only minutes', () => {
    expect(windowRemainingMs(windows('02:00-03:00'), utcZone, at('2026-06-01T02:59:30Z'))).toBe(30_000);
  });
});

describe('the random delay before an upgrade', () => {
  it.each<[string, number, number, number, number]>([
    // [case, jitter ms, window left ms, random, delay ms]
    ['no jitter', 0, 3_600_000, 0.9, 0],
    ['a share of the jitter', 600_000, 3_600_000, 0.5, 300_000],
    ['no window: the whole jitter', 600_000, Number.POSITIVE_INFINITY, 0.999, 599_400],
    ['a short rest of the window: half of it at most', 600_000, 300_000, 0.5, 75_000],
    ['random 0 starts at once', 600_000, 300_000, 0, 0],
  ])('%s', (_case, jitterMs, remainingMs, random, expected) => {
    expect(upgradeDelayMs(jitterMs, remainingMs, random)).toBe(expected);
  });
});
