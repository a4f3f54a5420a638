import { Cron } from 'croner';
import { ApiError } from './errors.js';
import {
  explainZone,
  offsetMsAt,
  parseZone,
  utcZone,
  wallTimeToInstant,
  type Zone,
  zoneFromName,
} from './time-zone.js';

export { parseZone, type Zone } from './time-zone.js';

/**
 * The Frequency of a Period task (InvokeCommand reference, "Frequency"): `rate(5m)`, `at(2022-06-06
 * 13:15:30 Asia/Shanghai)` or a Quartz-style cron with seconds, optional year and time zone, in the
 * dialect DESIGN §4 fixes. Pure: the caller passes the current time; croner does the cron matching.
 */
export type Frequency =
  | { kind: 'rate'; text: string; intervalSeconds: number }
  | { kind: 'at'; text: string; atMs: number }
  /** `fields`: the 6 or 7 cron fields; `zone` undefined means the instance's own time zone. */
  | { kind: 'cron'; text: string; fields: string; zone: Zone | undefined };

export const frequencyLimits = {
  // The seed: "The specified interval can be anywhere from 60 seconds to 7 days".
  rateMinSeconds: 60,
  rateMaxSeconds: 7 * 86_400,
  // The seed (cron): "The minimum interval must be 10 seconds or more".
  cronMinGapSeconds: 10,
  // Alibaba's cron page limits the year to 2099; 1970 is the start of the epoch the agent counts in.
  minYear: 1970,
  maxYear: 2099,
  /**
   * The minimum cron interval is checked on the gaps between this many upcoming runs. An
   * approximation: a schedule's shortest gap shows within one cycle of its finest repeating
   * field, which 60 runs cover unless a short gap appears only rarely (say, once a leap year).
   */
  gapSampleRuns: 60,
} as const;

const unitSeconds = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const isUnit = (text: string | undefined): text is keyof typeof unitSeconds =>
  text !== undefined && Object.hasOwn(unitSeconds, text);

function refuse(text: string, why: string): never {
  const shown = text.length > 100 ? `${text.slice(0, 100)}…` : text;
  throw new ApiError('InvalidParam.Frequency', `${shown}: ${why}${/[.?]$/.test(why) ? '' : '.'}`);
}

/** Parses and validates a Frequency; every broken rule is `InvalidParam.Frequency` saying which. */
export function parseFrequency(text: string, context: { nowMs: number; timeoutSeconds: number }): Frequency {
  const trimmed = text.trim();
  if (trimmed === '') refuse(text, 'the expression is empty');
  if (/^rate\(/i.test(trimmed)) return parseRate(trimmed, context.timeoutSeconds);
  if (/^at\(/i.test(trimmed)) return parseAt(trimmed, context.nowMs);
  return parseCron(trimmed, context);
}

function parseRate(text: string, timeoutSeconds: number): Frequency {
  const match = /^rate\((\d+)([smhd])\)$/.exec(text);
  const unit = match?.[2];
  if (!match || !isUnit(unit)) refuse(text, 'write rate(<n><s|m|h|d>), for example rate(5m)');
  const intervalSeconds = Number(match[1]) * unitSeconds[unit];
  const { rateMinSeconds, rateMaxSeconds } = frequencyLimits;
  if (!(intervalSeconds >= rateMinSeconds && intervalSeconds <= rateMaxSeconds)) {
    refuse(text, 'the interval must be 60 seconds to 7 days');
  }
  if (intervalSeconds <= timeoutSeconds) {
    refuse(text, `the interval (${intervalSeconds} s) must be longer than the timeout (${timeoutSeconds} s)`);
  }
  return { kind: 'rate', text, intervalSeconds };
}

function parseAt(text: string, nowMs: number): Frequency {
  const match = /^at\((\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\s+(\S.*?))?\s*\)$/.exec(text);
  if (!match) {
    refuse(text, 'write at(yyyy-MM-dd HH:mm:ss <time zone>), for example at(2022-06-06 13:15:30 UTC)');
  }
  const [year = '', month = '', day = '', hour = '', minute = '', second = ''] = match.slice(1, 7);
  const wallMs = Date.UTC(+year, +month - 1, +day, +hour, +minute, +second);
  // Date.UTC rolls 2026-02-30 over into March: a date that does not come back unchanged is refused.
  if (
    Number.isNaN(wallMs) ||
    new Date(wallMs).toISOString().slice(0, 19) !== `${year}-${month}-${day}T${hour}:${minute}:${second}`
  ) {
    refuse(text, 'that date or time does not exist in the calendar');
  }
  const zoneText = match[7];
  const zone = zoneText === undefined ? utcZone : parseZone(zoneText);
  if (!zone) refuse(text, explainZone(zoneText ?? ''));
  const atMs = wallTimeToInstant(zone, wallMs);
  if (atMs <= nowMs) refuse(text, `the time is in the past (${new Date(atMs).toISOString()})`);
  return { kind: 'at', text, atMs };
}

// --- cron ---

const fieldNames = ['seconds', 'minutes', 'hours', 'day-of-month', 'month', 'day-of-week', 'year'];
const fieldChars = [
  /^[\d*,/-]+$/,
  /^[\d*,/-]+$/,
  /^[\d*,/-]+$/,
  /^[\d*,/LW-]+$/i,
  /^[\dA-Z*,/-]+$/i,
  /^[\dA-Z*,/#-]+$/i,
  /^[\d*,/-]+$/,
];
// Day-of-week 0 or 7 is Sunday (DESIGN §4, croner's default numbering); the year has its own range.
const fieldRanges: [number, number][] = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
  [frequencyLimits.minYear, frequencyLimits.maxYear],
];

const monthNames = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const dayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * When a zone is not known yet (the instance's own), validation evaluates in UTC-12:00, the latest
 * zone on Earth: a schedule that still fires there fires somewhere, and gaps do not depend on it.
 */
const latestZone: Zone = { kind: 'offset', minutes: -12 * 60 };

/** The seed's own `0 0/30 10-11 * ? 2022` lost its month: with six fields, `?` falls in the month. */
function missingMonth(fields: string[]): string[] | undefined {
  if (fields.length !== 6 || fields[4] !== '?' || !/^\d{4}/.test(fields[5] ?? '')) return undefined;
  return [...fields.slice(0, 4), '*', '?', fields[5]!];
}

function suggestion(fields: string[], zoneText: string | undefined): string {
  const fixed = missingMonth(fields);
  const note = fixed ? ' With six fields the "?" falls in the month field and the year in day-of-week.' : '';
  const all = [...(fixed ?? fields), ...(zoneText === undefined ? [] : [zoneText])];
  return (fixed ?? fields).length >= 6 ? `${note} Did you mean "${all.join(' ')}"?` : note;
}

function parseCron(text: string, context: { nowMs: number; timeoutSeconds: number }): Frequency {
  let fields = text.split(/\s+/);
  let zone: Zone | undefined;
  const last = fields.at(-1) ?? '';
  const beforeLast = fields.at(-2) ?? '';
  if (/^(GMT|UTC)$/.test(beforeLast) && /^[+-]\d/.test(last)) {
    // The seed's example writes `GMT +8:00`; say so precisely rather than "unknown field".
    const fixedZone = parseZone(`GMT${last}`) ? `GMT${last}` : undefined;
    refuse(text, `${explainZone(`${beforeLast} ${last}`)}.${suggestion(fields.slice(0, -2), fixedZone)}`);
  }
  const suffix = parseZone(last);
  if (suffix) {
    zone = suffix;
    fields = fields.slice(0, -1);
  } else if (
    /:/.test(last) ||
    /^[A-Za-z_]+\/[A-Za-z_]/.test(last) ||
    (fields.length >= 7 && /[A-Za-z]/.test(last))
  ) {
    refuse(text, explainZone(last));
  }
  const zoneText = suffix ? last : undefined;
  if (fields.length !== 6 && fields.length !== 7) {
    const layout = '<sec> <min> <hour> <day-of-month> <month> <day-of-week> [<year>] [<time zone>]';
    refuse(text, `a cron expression has 6 or 7 fields, ${layout}; this one has ${fields.length}`);
  }
  for (const [index, field] of fields.entries()) {
    checkField(text, field, index, () => suggestion(fields, zoneText));
  }
  const [dayOfMonth, , dayOfWeek] = fields.slice(3);
  if (restricted(dayOfMonth) && restricted(dayOfWeek)) {
    refuse(
      text,
      `day-of-month (${dayOfMonth}) and day-of-week (${dayOfWeek}) cannot both be set: put ? in one`,
    );
  }
  const frequency: Frequency = { kind: 'cron', text, fields: fields.join(' '), zone };
  let runs: number[];
  try {
    runs = cronRuns(frequency.fields, zone ?? latestZone, context.nowMs, frequencyLimits.gapSampleRuns);
  } catch (error) {
    const why = String(error instanceof Error ? error.message : error).replace(/^CronPattern: /, '');
    refuse(text, `the cron fields are not valid: ${why}`);
  }
  if (runs.length === 0) refuse(text, 'the schedule never fires after now');
  const gapSeconds = Math.min(...runs.slice(1).map((run, i) => (run - runs[i]!) / 1000));
  if (gapSeconds < frequencyLimits.cronMinGapSeconds) {
    refuse(text, `runs ${gapSeconds} s apart; the minimum interval is 10 seconds`);
  }
  if (gapSeconds < context.timeoutSeconds) {
    refuse(text, `runs ${gapSeconds} s apart, less than the timeout (${context.timeoutSeconds} s)`);
  }
  return frequency;
}

const restricted = (field: string | undefined): boolean => field !== '*' && field !== '?';

function checkField(text: string, field: string, index: number, fix: () => string): void {
  const name = fieldNames[index];
  if (field.includes('?') && (field !== '?' || (index !== 3 && index !== 5))) {
    refuse(
      text,
      `"?" may stand only alone, in day-of-month or day-of-week, not in ${name} "${field}".${fix()}`,
    );
  }
  if (field === '?') return;
  if (!fieldChars[index]!.test(field) || field.startsWith('+')) {
    refuse(text, `the ${name} field "${field}" has characters cron does not allow there`);
  }
  const names = index === 4 ? monthNames : index === 5 ? dayNames : [];
  for (const word of field.toUpperCase().match(/[A-Z]+/g) ?? []) {
    const modifier = index === 3 ? /^(L|W|LW)$/.test(word) : index === 5 && word === 'L';
    if (!modifier && !names.includes(word)) {
      const known = names.length > 0 ? `; names are ${names[0]}-${names.at(-1)}` : '';
      refuse(text, `the ${name} field "${field}" has an unknown name "${word}"${known}`);
    }
  }
  const [low, high] = fieldRanges[index]!;
  for (const item of field.split(',')) {
    const base = item.split('/')[0]!.replace(/#\d+$/, '');
    for (const number of base.match(/\d+/g) ?? []) {
      if (Number(number) < low || Number(number) > high) {
        refuse(text, `the ${name} field "${field}" has ${number}; values run from ${low} to ${high}`);
      }
    }
  }
}

/** croner reads an open year step (`2022/2`) up to year 9999; the dialect ends at 2099. */
function cronerPattern(fields: string): string {
  const parts = fields.split(' ');
  const year = parts[6];
  if (year === undefined) return fields;
  parts[6] = year
    .split(',')
    .map((item) =>
      item.replace(/^(\*|\d+)\/(\d+)$/, (_, from: string, step: string) => {
        const start = from === '*' ? frequencyLimits.minYear : from;
        return `${start}-${frequencyLimits.maxYear}/${step}`;
      }),
    )
    .join(',');
  return parts.join(' ');
}

// Parsing a pattern costs far more than finding its next run, and a fleet's schedules share a few
// patterns: keep the parsed ones (the oldest goes first past the bound). Cron objects without a
// callback schedule nothing, so sharing them is safe.
const parsedCrons = new Map<string, Cron>();
const parsedCronLimit = 1_000;

function parsedCron(fields: string, zone: Zone): Cron {
  const key = `${fields}|${zone.kind === 'iana' ? zone.name : zone.minutes}`;
  let cron = parsedCrons.get(key);
  if (!cron) {
    cron = new Cron(cronerPattern(fields), {
      mode: '6-or-7-parts',
      // `0/30`-style steps are Quartz's usual spelling; croner wants this option to read them.
      sloppyRanges: true,
      // DESIGN §4: with no wildcard or step in seconds, minutes and hours, a wall time in a DST gap
      // fires when the gap ends and a repeated one fires once; `*/20`-style schedules keep their rhythm.
      fixedTimeRule: 'no-wildcard',
      ...(zone.kind === 'iana' ? { timezone: zone.name } : { utcOffset: zone.minutes }),
    });
    if (parsedCrons.size >= parsedCronLimit) parsedCrons.delete(parsedCrons.keys().next().value ?? '');
    parsedCrons.set(key, cron);
  }
  return cron;
}

function cronRuns(fields: string, zone: Zone, afterMs: number, count: number): number[] {
  if (count <= 0) return [];
  return parsedCron(fields, zone)
    .nextRuns(count, new Date(afterMs))
    .map((date) => date.getTime());
}

/**
 * The next fire times strictly after `afterMs`, at most `count`. A cron without a zone follows
 * `defaultZone` (the instance's IANA zone). A rate runs first one interval after `startMs` (the
 * task's creation; `afterMs` when absent), then start-to-start (the seed, rate expressions).
 */
export function nextFireTimes(
  frequency: Frequency,
  afterMs: number,
  count: number,
  context: { defaultZone: string; startMs?: number },
): number[] {
  if (count <= 0) return [];
  switch (frequency.kind) {
    case 'at':
      return frequency.atMs > afterMs ? [frequency.atMs] : [];
    case 'rate': {
      const startMs = context.startMs ?? afterMs;
      const intervalMs = frequency.intervalSeconds * 1000;
      const first = Math.max(1, Math.floor((afterMs - startMs) / intervalMs) + 1);
      return Array.from({ length: count }, (_, i) => startMs + (first + i) * intervalMs);
    }
    case 'cron':
      return cronRuns(frequency.fields, frequency.zone ?? zoneFromName(context.defaultZone), afterMs, count);
  }
}

/**
 * How a daylight-saving change bears on one fire time, for a preview to flag (the fire times are
 * nextFireTimes' own): `gap`, a wall time the schedule names did not exist and the run moved to the
 * end of the gap (wall clock `fromWallMs` to `toWallMs`, as Date.UTC of its fields, was skipped);
 * `repeated`, the run's wall time occurs twice that day and this is its first or second occurrence.
 */
export type DstMark =
  | { kind: 'gap'; fromWallMs: number; toWallMs: number }
  | { kind: 'repeated'; occurrence: 1 | 2 };

// Wider than any DST change (2 h at most in the tz database), narrower than the time between two.
const dstWindowMs = 6 * 3_600_000;

/** Whether the cron's fields name this wall time (read in UTC, where no DST moves anything). */
function namesWallTime(fields: string, wallMs: number): boolean {
  return cronRuns(fields, utcZone, wallMs - 1000, 1)[0] === wallMs;
}

/** What DST does to the cron run at `fireMs`, or undefined (also for rates and `at`). */
export function dstMark(frequency: Frequency, fireMs: number, defaultZone: string): DstMark | undefined {
  if (frequency.kind !== 'cron') return undefined;
  const zone = frequency.zone ?? zoneFromName(defaultZone);
  if (zone.kind !== 'iana') return undefined;
  const offset = offsetMsAt(zone, fireMs);
  const wallMs = fireMs + offset;
  const before = offsetMsAt(zone, fireMs - 1000);
  // A run moved out of a gap fires at the instant the clock jumps, at a wall time it does not name.
  if (before < offset && !namesWallTime(frequency.fields, wallMs)) {
    return { kind: 'gap', fromWallMs: fireMs + before, toWallMs: wallMs };
  }
  for (const other of [offsetMsAt(zone, fireMs - dstWindowMs), offsetMsAt(zone, fireMs + dstWindowMs)]) {
    const twin = wallMs - other;
    if (other !== offset && offsetMsAt(zone, twin) === other) {
      return { kind: 'repeated', occurrence: twin > fireMs ? 1 : 2 };
    }
  }
  return undefined;
}
