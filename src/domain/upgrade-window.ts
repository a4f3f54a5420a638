import { offsetMsAt, type Zone } from './time-zone.js';

/**
 * The daily windows in which agents may upgrade themselves (AgentUpgradeConfig.AllowedUpgradeWindow):
 * `HH:mm-HH:mm` wall-clock ranges in the config's time zone, start included, end excluded. A window
 * whose end is before its start crosses midnight (`23:00-01:00`). Times are the zone's wall clock,
 * so on a day when DST skips an hour a window inside the skipped hour does not occur, and one the
 * fall-back repeats is open twice.
 */
export interface UpgradeWindow {
  /** Minutes after local midnight. */
  readonly startMinute: number;
  readonly endMinute: number;
}

const dayMinutes = 24 * 60;
/** Alibaba: "The interval between time windows cannot be less than 1 hour": a window lasts an hour or more. */
export const minimumWindowMinutes = 60;
/** At most this many windows, one per hour of the day: the list is bounded like every input. */
export const maxWindows = 24;

const windowPattern = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

/** Parses `HH:mm-HH:mm`; undefined when it is not that form (hours 00-23, minutes 00-59). */
export function parseWindow(text: string): UpgradeWindow | undefined {
  const match = windowPattern.exec(text);
  if (!match) return undefined;
  const [, startHour, startMinute, endHour, endMinute] = match.map(Number);
  return {
    startMinute: (startHour ?? 0) * 60 + (startMinute ?? 0),
    endMinute: (endHour ?? 0) * 60 + (endMinute ?? 0),
  };
}

/** How many minutes a window lasts (crossing midnight counts on; equal ends are a whole day). */
export function windowMinutes(window: UpgradeWindow): number {
  return (window.endMinute - window.startMinute + dayMinutes) % dayMinutes || dayMinutes;
}

/** Milliseconds after the zone's local midnight at `atMs`. */
function localTimeOfDayMs(zone: Zone, atMs: number): number {
  const dayMs = dayMinutes * 60_000;
  return (((atMs + offsetMsAt(zone, atMs)) % dayMs) + dayMs) % dayMs;
}

/**
 * How long the windows stay open from `atMs` on: 0 when none is open, Infinity when there are no
 * windows (an upgrade may happen at any time). Of overlapping windows the one that ends last counts.
 * Measured on the wall clock, so a DST change inside the window makes it an hour off.
 */
export function windowRemainingMs(windows: readonly UpgradeWindow[], zone: Zone, atMs: number): number {
  if (windows.length === 0) return Number.POSITIVE_INFINITY;
  const nowMs = localTimeOfDayMs(zone, atMs);
  let remaining = 0;
  for (const window of windows) {
    const sinceStartMs = (nowMs - window.startMinute * 60_000 + dayMinutes * 60_000) % (dayMinutes * 60_000);
    const lengthMs = windowMinutes(window) * 60_000;
    if (sinceStartMs < lengthMs) remaining = Math.max(remaining, lengthMs - sinceStartMs);
  }
  return remaining;
}

/** Whether an upgrade may start at `atMs`. */
export const insideWindows = (windows: readonly UpgradeWindow[], zone: Zone, atMs: number): boolean =>
  windowRemainingMs(windows, zone, atMs) > 0;

/**
 * How long an agent waits before it starts an upgrade: a random share (`random01` in [0, 1)) of the
 * jitter, which must end within the first half of what is left of the window, so the download and
 * the wait for running tasks still fit in it. A fleet spreads its downloads over the jitter.
 */
export function upgradeDelayMs(jitterMs: number, windowRemainingMs: number, random01: number): number {
  return Math.floor(random01 * Math.min(jitterMs, windowRemainingMs / 2));
}
