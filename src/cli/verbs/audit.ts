import type { Command } from 'commander';
import { printJson, printTable } from '../presenter.js';
import { openSession, type SessionFlags, verb } from '../session.js';

/** ActionTrail's API version, where LookupEvents lives (docs/audit.md). */
const actionTrailVersion = '2020-07-06';
// LookupEvents pages up to 50 events.
const pageSize = 50;

/** An event as LookupEvents answers it; only what the table shows is named. */
interface AuditEvent {
  eventTime: string;
  eventName: string;
  eventSource: string;
  sourceIpAddress: string;
  userIdentity: { accessKeyId: string; userName: string };
  resourceName: string;
  errorCode: string;
  [field: string]: unknown;
}

const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since 2h` (s, m, h, d ago) or an ISO 8601 time, as LookupEvents' StartTime. */
export function sinceTime(value: string, nowMs: number): string {
  const ago = /^(\d+)([smhd])$/.exec(value.trim());
  const ms = ago ? nowMs - Number(ago[1]) * (units[ago[2] ?? 's'] ?? 1_000) : Date.parse(value);
  if (Number.isNaN(ms))
    throw new Error(`--since takes a duration (30m, 2h, 7d) or an ISO 8601 time, got "${value}"`);
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

const headings = ['Time', 'Event', 'Source', 'Key', 'Source IP', 'Resources', 'Error'];
const row = (event: AuditEvent) => [
  event.eventTime,
  event.eventName,
  event.eventSource,
  event.userIdentity.accessKeyId || event.userIdentity.userName,
  event.sourceIpAddress,
  event.resourceName,
  event.errorCode,
];

interface AuditFlags extends SessionFlags {
  since?: string;
  action?: string;
  key?: string;
  instance?: string;
  limit: string;
}

/** `openassist audit`: the audit trail, newest first (LookupEvents). */
export function registerAudit(program: Command): void {
  verb(
    program,
    'audit',
    'who called what, newest first (the audit trail; needs actiontrail:LookupEvents)',
    'openassist audit --since 2h --action InvokeCommand --instance mi-…',
  )
    .option('--since <time>', 'only events since a duration ago (30m, 2h, 7d) or an ISO 8601 time')
    .option('--action <name>', 'only this action or event (InvokeCommand, RegisterInstance…)')
    .option('--key <id>', 'only calls signed with this access key id')
    .option('--instance <id>', 'only events naming this instance (or any resource id)')
    .option('--limit <n>', 'at most this many events', '50')
    .action(async (flags: AuditFlags) => {
      const limit = Number(flags.limit);
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new Error(`--limit takes a whole number, got "${flags.limit}"`);
      const { call, p } = await openSession(flags);
      const attributes = [
        ['EventName', flags.action],
        ['EventAccessKeyId', flags.key],
        ['ResourceName', flags.instance],
      ].filter((pair): pair is [string, string] => Boolean(pair[1]));
      const params: Record<string, string> = {};
      attributes.forEach(([key, value], i) => {
        params[`LookupAttribute.${i + 1}.Key`] = key;
        params[`LookupAttribute.${i + 1}.Value`] = value;
      });
      if (flags.since) params.StartTime = sinceTime(flags.since, Date.now());
      const events: AuditEvent[] = [];
      let token = '';
      do {
        const page = await call<{ Events: AuditEvent[]; NextToken: string }>(
          'LookupEvents',
          {
            ...params,
            MaxResults: Math.min(pageSize, limit - events.length),
            ...(token && { NextToken: token }),
          },
          actionTrailVersion,
        );
        events.push(...page.Events);
        token = page.NextToken;
      } while (token && events.length < limit);
      if (p.json) return printJson(p, events);
      printTable(p, headings, events.map(row));
    });
}
