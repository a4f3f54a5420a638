/**
 * Time zones as the InvokeCommand reference (Frequency) lets a caller write them: an IANA name
 * (`Asia/Shanghai`), a fixed offset `GMT+8:00` / `GMT-7:00` / `GMT+5:30` (no leading zero on the
 * hour), or the one abbreviation `UTC`. Pure: offsets come from the runtime's tz database via Intl.
 */
export type Zone = { kind: 'iana'; name: string } | { kind: 'offset'; minutes: number };

export const utcZone: Zone = { kind: 'offset', minutes: 0 };

// Real offsets run from UTC-12:00 (Baker Island) to UTC+14:00 (Kiribati); croner itself allows ±14:30.
const maxOffsetMinutes = { west: 12 * 60, east: 14 * 60 };

// The seed: "If you use the GMT format, do not add leading zeros to the hour value."
const gmtOffset = /^GMT([+-])(0|[1-9]\d?):([0-5]\d)$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(name: string): Intl.DateTimeFormat {
  let format = formatters.get(name);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(name, format);
  }
  return format;
}

/**
 * Whether the runtime's tz database knows `name`. Names are kept as written: ICU's canonical form
 * lags the tz database (it turns Asia/Kolkata into Asia/Calcutta).
 */
export function isKnownZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * A zone as a caller wrote it, or undefined when it is none of the three forms. IANA names must
 * have an area (`Area/Location`), so legacy abbreviations the tz database also knows (`EST`, `PRC`)
 * stay refused: the seed supports only `UTC` among abbreviations.
 */
export function parseZone(text: string): Zone | undefined {
  if (text === 'UTC') return utcZone;
  const gmt = gmtOffset.exec(text);
  if (gmt) {
    const minutes = (gmt[1] === '-' ? -1 : 1) * (Number(gmt[2]) * 60 + Number(gmt[3]));
    const limit = minutes < 0 ? maxOffsetMinutes.west : maxOffsetMinutes.east;
    return Math.abs(minutes) <= limit ? { kind: 'offset', minutes } : undefined;
  }
  if (!/^[A-Za-z][\w+-]*(\/[\w+-]+)+$/.test(text)) return undefined;
  return isKnownZone(text) ? { kind: 'iana', name: text } : undefined;
}

/** Why `parseZone` refused `text`, phrased so the caller sees the form to write instead. */
export function explainZone(text: string): string {
  const spaced = /^(GMT|UTC)\s+([+-].*)$/.exec(text);
  if (spaced) return `the time zone "${text}" must not contain a space: write GMT${spaced[2]}`;
  const padded = /^(?:GMT|UTC)([+-])0(\d):(\d\d)$/.exec(text);
  if (padded) {
    return `the time zone "${text}" has a leading zero on the hour: write GMT${padded[1]}${padded[2]}:${padded[3]}`;
  }
  if (/^UTC[+-]/.test(text)) return `the time zone "${text}" is not supported: write offsets as GMT+8:00`;
  if (gmtOffset.test(text)) return `the time zone "${text}" is outside GMT-12:00 to GMT+14:00`;
  if (/^GMT[+-]/.test(text)) {
    return `the time zone "${text}" must be written GMT+H:MM, for example GMT+8:00 or GMT-7:00`;
  }
  return `unknown time zone "${text}": use an IANA name such as Asia/Shanghai, GMT+8:00 or UTC`;
}

/** The zone an instance reports (any name Intl knows, `UTC` and `Etc/UTC` included). */
export function zoneFromName(name: string): Zone {
  const zone = parseZone(name);
  if (zone) return zone;
  if (!isKnownZone(name)) throw new RangeError(`Unknown time zone "${name}".`);
  return { kind: 'iana', name };
}

/** Milliseconds to add to UTC to get the zone's wall clock at `instantMs` (whole seconds). */
export function offsetMsAt(zone: Zone, instantMs: number): number {
  if (zone.kind === 'offset') return zone.minutes * 60_000;
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const part of formatter(zone.name).formatToParts(wholeSecond)) parts[part.type] = Number(part.value);
  const wall = Date.UTC(
    parts.year ?? 0,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    (parts.hour ?? 0) % 24,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return wall - wholeSecond;
}

const dayMs = 86_400_000;

/**
 * The instant of a wall-clock time, given as `Date.UTC(...)` of its fields. DESIGN §4: a wall time
 * that occurs twice (DST fall-back) is its first occurrence; one that does not exist (spring-forward
 * gap) is the first instant after the gap. Assumes at most one transition within a day of the time,
 * which holds for every zone in the tz database since 1970.
 */
export function wallTimeToInstant(zone: Zone, wallMs: number): number {
  const before = offsetMsAt(zone, wallMs - dayMs);
  const after = offsetMsAt(zone, wallMs + dayMs);
  const valid = [before, after, offsetMsAt(zone, wallMs)]
    .map((offset) => wallMs - offset)
    .filter((instant) => offsetMsAt(zone, instant) === wallMs - instant);
  if (valid.length > 0) return Math.min(...valid);
  // In the gap: the old offset holds at wall - after, the new one at wall - before; the
  // transition lies between, found to the second by bisection.
  let low = wallMs - after;
  let high = wallMs - before;
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (offsetMsAt(zone, middle) === before) low = middle;
    else high = middle;
  }
  return high;
}
