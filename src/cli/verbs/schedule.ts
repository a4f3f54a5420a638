import type { Command } from 'commander';
import { printJson, printTable } from '../presenter.js';
import { openSession, type SessionFlags, verb } from '../session.js';

interface PreviewFlags extends SessionFlags {
  count: string;
  tz?: string;
  timeout?: string;
}

interface Preview {
  Kind: string;
  TimeZone: string;
  NextRunTimes: { NextRunTime: { Utc: string; Local: string; Dst?: string; DstNote?: string }[] };
}

/** `openassist schedule preview '<Frequency>'`: the next run times, in the schedule's zone and in UTC. */
export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('schedules');
  verb(
    schedule,
    'preview',
    'validate a Frequency and list its next run times',
    "openassist schedule preview '0 30 2 * * ? America/Los_Angeles' --count 5",
  )
    .argument(
      '<frequency>',
      "rate(5m), at(2027-01-01 00:00:00 Asia/Shanghai) or a cron such as '0 */20 * * * ?'",
    )
    .option('--count <n>', 'how many run times (1-100)', '10')
    .option('--tz <zone>', "the instance's time zone, for a cron that names none", 'UTC')
    .option('--timeout <seconds>', 'the task timeout the schedule must respect')
    .action(async (frequency: string, flags: PreviewFlags) => {
      const { call, p } = await openSession(flags);
      const preview = await call<Preview>('DescribeFrequencyPreview', {
        Frequency: frequency,
        Count: flags.count,
        TimeZone: flags.tz,
        Timeout: flags.timeout,
      });
      if (p.json) return printJson(p, preview);
      p.out.write(`${preview.Kind} schedule, zone ${preview.TimeZone}\n`);
      const runs = preview.NextRunTimes.NextRunTime;
      // A run a DST change moved, or whose wall time occurs twice, says so in a column of its own.
      const dst = runs.some((run) => run.DstNote);
      printTable(
        p,
        dst ? ['Local', 'UTC', 'DST'] : ['Local', 'UTC'],
        runs.map((run) =>
          dst ? [run.Local, run.Utc, run.DstNote && p.colors.yellow(run.DstNote)] : [run.Local, run.Utc],
        ),
      );
    });
}
