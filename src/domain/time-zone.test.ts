import { describe, expect, it } from 'vitest';
import { explainZone, offsetMsAt, parseZone, wallTimeToInstant, zoneFromName } from './time-zone.js';

const wall = (iso: string) => Date.parse(`${iso}Z`);
const la = { kind: 'iana', name: 'America/Los_Angeles' } as const;

describe('time zone forms (seed: an IANA name, GMT+8:00 / GMT-7:00 without a leading zero, or UTC)', () => {
  it('reads the three forms', () => {
    expect(parseZone('Asia/Shanghai')).toEqual({ kind: 'iana', name: 'Asia/Shanghai' });
    expect(parseZone('America/Argentina/Buenos_Aires')).toEqual({
      kind: 'iana',
      name: 'America/Argentina/Buenos_Aires',
    });
    expect(parseZone('UTC')).toEqual({ kind: 'offset', minutes: 0 });
    expect(parseZone('GMT+8:00')).toEqual({ kind: 'offset', minutes: 480 });
    expect(parseZone('GMT-7:00')).toEqual({ kind: 'offset', minutes: -420 });
    expect(parseZone('GMT+5:30')).toEqual({ kind: 'offset', minutes: 330 });
    expect(parseZone('GMT+0:00')).toEqual({ kind: 'offset', minutes: 0 });
    expect(parseZone('GMT+14:00')).toEqual({ kind: 'offset', minutes: 840 });
    expect(parseZone('GMT-12:00')).toEqual({ kind: 'offset', minutes: -720 });
  });

  it('refuses other spellings, and says what to write instead', () => {
    for (const text of [
      'GMT+08:00',
      'GMT+8',
      'GMT +8:00',
      'UTC+8:00',
      'GMT+15:00',
      'GMT-13:00',
      'GMT+8:60',
    ]) {
      expect(parseZone(text), text).toBeUndefined();
    }
    for (const text of ['EST', 'PRC', 'utc', 'GMT', 'Mars/Olympus', '+08:00', '']) {
      expect(parseZone(text), text).toBeUndefined();
    }
    expect(explainZone('GMT+08:00')).toMatch(/leading zero.*GMT\+8:00/);
    expect(explainZone('GMT +8:00')).toMatch(/space.*GMT\+8:00/);
    expect(explainZone('GMT+8')).toMatch(/GMT\+H:MM/);
    expect(explainZone('GMT+15:00')).toMatch(/outside GMT-12:00 to GMT\+14:00/);
    expect(explainZone('UTC+8:00')).toMatch(/GMT\+8:00/);
    expect(explainZone('Mars/Olympus')).toMatch(/unknown time zone "Mars\/Olympus"/);
  });

  it('takes any zone Intl knows as an instance zone', () => {
    expect(zoneFromName('Etc/UTC')).toEqual({ kind: 'iana', name: 'Etc/UTC' });
    expect(zoneFromName('UTC')).toEqual({ kind: 'offset', minutes: 0 });
    expect(zoneFromName('Asia/Shanghai')).toEqual({ kind: 'iana', name: 'Asia/Shanghai' });
    expect(() => zoneFromName('Mars/Olympus')).toThrow(RangeError);
  });
});

describe('offsets and wall times (DESIGN §4 DST policy)', () => {
  it('reads the offset at an instant', () => {
    expect(offsetMsAt(la, Date.parse('2026-01-15T12:00:00Z'))).toBe(-8 * 3_600_000);
    expect(offsetMsAt(la, Date.parse('2026-07-15T12:00:00Z'))).toBe(-7 * 3_600_000);
    expect(offsetMsAt({ kind: 'offset', minutes: 330 }, 0)).toBe(330 * 60_000);
  });

  it('maps an ordinary wall time to its one instant', () => {
    expect(wallTimeToInstant(la, wall('2026-07-15T09:00:00'))).toBe(Date.parse('2026-07-15T16:00:00Z'));
    expect(wallTimeToInstant({ kind: 'iana', name: 'Asia/Shanghai' }, wall('2022-06-06T13:15:30'))).toBe(
      Date.parse('2022-06-06T05:15:30Z'),
    );
    expect(wallTimeToInstant({ kind: 'offset', minutes: -420 }, wall('2022-06-06T13:15:30'))).toBe(
      Date.parse('2022-06-06T20:15:30Z'),
    );
  });

  it('maps a wall time in the spring-forward gap to the first instant after it', () => {
    // 2026-03-08 02:00-02:59 does not exist in Los Angeles; 03:00 PDT is 10:00Z.
    expect(wallTimeToInstant(la, wall('2026-03-08T02:30:00'))).toBe(Date.parse('2026-03-08T10:00:00Z'));
    expect(wallTimeToInstant(la, wall('2026-03-08T02:00:00'))).toBe(Date.parse('2026-03-08T10:00:00Z'));
    expect(wallTimeToInstant(la, wall('2026-03-08T03:00:00'))).toBe(Date.parse('2026-03-08T10:00:00Z'));
    expect(wallTimeToInstant(la, wall('2026-03-08T01:59:59'))).toBe(Date.parse('2026-03-08T09:59:59Z'));
  });

  it('maps a repeated wall time to its first occurrence', () => {
    // 2026-11-01 01:00-01:59 happens twice in Los Angeles: first PDT (08:xxZ), then PST (09:xxZ).
    expect(wallTimeToInstant(la, wall('2026-11-01T01:30:00'))).toBe(Date.parse('2026-11-01T08:30:00Z'));
    expect(wallTimeToInstant(la, wall('2026-11-01T02:00:00'))).toBe(Date.parse('2026-11-01T10:00:00Z'));
  });
});
