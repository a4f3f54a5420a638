import { ApiError } from '../../domain/errors.js';
import { type DstMark, dstMark, nextFireTimes, parseFrequency } from '../../domain/frequency.js';
import { isKnownZone, offsetMsAt, parseZone, type Zone } from '../../domain/time-zone.js';
import type { Action } from '../action.js';
import { isoTime } from '../wire.js';

const maxCount = 100;

/** `2026-03-08T03:00:00-07:00`: a wall time in `zone` with its offset at that instant. */
function wallTime(zone: Zone, instantMs: number): string {
  const offsetMs = offsetMsAt(zone, instantMs);
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.abs(offsetMs) / 60_000;
  const offset = `${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  return `${new Date(instantMs + offsetMs).toISOString().slice(0, 19)}${offset}`;
}

/** `01:30` (or `01:30:15`) of a wall time given as Date.UTC of its fields. */
const clock = (wallMs: number): string => new Date(wallMs).toISOString().slice(11, wallMs % 60_000 ? 19 : 16);

/** A run's DST flag on the wire: `Dst` for scripts, `DstNote` for people. */
function dstFields(mark: DstMark | undefined, local: string): { Dst?: string; DstNote?: string } {
  if (!mark) return {};
  if (mark.kind === 'gap') {
    return {
      Dst: 'Gap',
      DstNote: `moved: ${clock(mark.fromWallMs)}-${clock(mark.toWallMs)} does not exist (DST starts), so the run fires at ${clock(mark.toWallMs)}`,
    };
  }
  const time = local.slice(11, 19).replace(/:00$/, '');
  return {
    Dst: 'Repeated',
    DstNote: `${time} occurs twice (DST ends); this run is the ${mark.occurrence === 1 ? 'first' : 'second'}`,
  };
}

/**
 * An OpenAssist extension (not in Alibaba's API): validates a Frequency exactly as InvokeCommand
 * does and lists its next run times, in UTC and in the schedule's own zone. `TimeZone` stands for
 * the instance's zone when a cron names none (default UTC). A run that a DST change moved or whose
 * wall time occurs twice carries `Dst` (`Gap`, `Repeated`) and `DstNote`.
 */
export const describeFrequencyPreview: Action = {
  name: 'DescribeFrequencyPreview',
  regionRequired: true,
  async handle({ params, services }) {
    const text = params.required('Frequency');
    const count = params.integer('Count') ?? 5;
    if (count < 1 || count > maxCount) throw new ApiError('InvalidParameter', `Count is 1 to ${maxCount}.`);
    const zoneName = params.string('TimeZone') || 'UTC';
    if (!parseZone(zoneName) && !isKnownZone(zoneName)) {
      throw new ApiError('InvalidParameter', `TimeZone "${zoneName.slice(0, 60)}" is not a time zone.`);
    }
    const nowMs = services.nowMs();
    const frequency = parseFrequency(text, {
      nowMs,
      timeoutSeconds: params.integer('Timeout', 'InvalidParameter.Timeout') ?? 60,
    });
    const zone: Zone = (frequency.kind === 'cron' ? frequency.zone : undefined) ??
      parseZone(zoneName) ?? { kind: 'iana', name: zoneName };
    const runs = nextFireTimes(frequency, nowMs, count, { defaultZone: zoneName, startMs: nowMs });
    return {
      Frequency: text,
      Kind: frequency.kind,
      TimeZone: zone.kind === 'iana' ? zone.name : wallTime(zone, nowMs).slice(19),
      NextRunTimes: {
        NextRunTime: runs.map((ms) => {
          const local = wallTime(zone, ms);
          return { Utc: isoTime(ms), Local: local, ...dstFields(dstMark(frequency, ms, zoneName), local) };
        }),
      },
    };
  },
};
