import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../test/helpers/metrics-scrape.js';
import type { FleetGauges } from '../store/store.js';
import { type MetricsSources, ServerMetrics } from './metrics.js';

const fleet: FleetGauges = {
  online: 3,
  versions: [
    { version: '0.5.0', count: 2 },
    { version: '0.4.1', count: 1 },
  ],
  pendingTasks: 7,
  webhookBacklog: 2,
  outputUploadBacklog: 1,
  journalBytesSum: 3000,
  journalBytesMax: 2000,
  pendingEventsSum: 5,
  pendingEventsMax: 4,
  oldestHeartbeatAtMs: 90_000,
  resourceCapped: 1,
};

function sources(overrides: Partial<MetricsSources> = {}): MetricsSources {
  return {
    dialect: 'sqlite',
    connectedAgents: () => 2,
    fleet: async () => fleet,
    pool: () => undefined,
    walBytes: () => 4096,
    ...overrides,
  };
}

const scrape = async (metrics: ServerMetrics) => parseExposition((await metrics.scrape()).text);

describe('ServerMetrics', () => {
  it('counts requests by served action and code; any other name is "unknown"', async () => {
    const metrics = new ServerMetrics(new Set(['InvokeCommand']));
    metrics.apiRequest('InvokeCommand', '', 0.002);
    metrics.apiRequest('InvokeCommand', 'InvalidCmdId.NotFound', 0.001);
    metrics.apiRequest('mi-0123456789abcdef', 'InvalidAction.NotFound', 0.001);
    metrics.apiRequest('', 'IncompleteSignature', 0.001);
    const s = await scrape(metrics);
    expect(s.value('openassist_api_requests_total', { action: 'InvokeCommand', code: 'Success' })).toBe(1);
    expect(
      s.value('openassist_api_requests_total', { action: 'InvokeCommand', code: 'InvalidCmdId.NotFound' }),
    ).toBe(1);
    expect(
      s.series('openassist_api_requests_total').filter((x) => x.labels.action === 'unknown'),
    ).toHaveLength(2);
    expect(s.value('openassist_api_request_duration_seconds_count', { action: 'InvokeCommand' })).toBe(2);
    expect(
      s.value('openassist_api_request_duration_seconds_bucket', { action: 'InvokeCommand', le: '0.001' }),
    ).toBe(1);
  });

  it('times runs from their start to their end, and only runs that started', async () => {
    const metrics = new ServerMetrics(new Set());
    metrics.runEnded({ status: 'Success', startTimeMs: 1_000, finishTimeMs: 3_500 });
    metrics.runEnded({ status: 'Invalid', startTimeMs: 0, finishTimeMs: 3_500 });
    metrics.runEnded({ status: 'Aborted', startTimeMs: 0, finishTimeMs: 9_000 });
    metrics.deliveryTimedOut(0);
    metrics.deliveryTimedOut(1);
    metrics.taskSent(-5);
    metrics.runStarted(40);
    metrics.invocationCreated('Once');
    metrics.invocationCreated('File');
    const s = await scrape(metrics);
    expect(s.value('openassist_runs_ended_total', { status: 'Invalid' })).toBe(1);
    expect(s.value('openassist_run_duration_seconds_sum', { status: 'Success' })).toBe(2.5);
    expect(s.value('openassist_run_duration_seconds_count', { status: 'Aborted' })).toBe(0);
    expect(s.value('openassist_delivery_timeouts_total')).toBe(1);
    // A clock step backwards is no negative latency.
    expect(s.value('openassist_dispatch_latency_seconds_sum', { stage: 'delivered' })).toBe(0);
    expect(s.value('openassist_dispatch_latency_seconds_sum', { stage: 'started' })).toBe(0.04);
    expect(s.value('openassist_invocations_created_total', { repeat_mode: 'File' })).toBe(1);
  });

  it('reads the gauges from the sources when scraped (SQLite: the write-ahead log, no pool)', async () => {
    const metrics = new ServerMetrics(new Set(), () => 100_000);
    metrics.watch(sources());
    const s = await scrape(metrics);
    expect(s.value('openassist_agents_connected')).toBe(2);
    expect(s.value('openassist_agents_online')).toBe(3);
    expect(s.series('openassist_agents_by_version')).toEqual([
      { labels: { version: '0.5.0' }, value: 2 },
      { labels: { version: '0.4.1' }, value: 1 },
    ]);
    expect(s.value('openassist_tasks_pending')).toBe(7);
    expect(s.value('openassist_webhook_backlog')).toBe(2);
    expect(s.value('openassist_output_upload_backlog')).toBe(1);
    expect(s.value('openassist_agent_journal_bytes', { stat: 'max' })).toBe(2000);
    expect(s.value('openassist_agent_pending_events', { stat: 'sum' })).toBe(5);
    expect(s.value('openassist_agent_heartbeat_age_seconds', { stat: 'max' })).toBe(10);
    expect(s.value('openassist_agents_resource_capped')).toBe(1);
    expect(s.value('openassist_sqlite_wal_bytes')).toBe(4096);
    expect(s.text).not.toContain('openassist_store_pool_connections');
    // No audit trail watched: no backlog shown (a trail that is off has none).
    expect(s.text).not.toContain('openassist_audit_backlog_records');
    expect(() => metrics.watch(sources())).toThrow();
  });

  it('shows the pool on PostgreSQL, and no fleet samples while the store cannot answer', async () => {
    const metrics = new ServerMetrics(new Set());
    metrics.watch(
      sources({
        dialect: 'postgres',
        fleet: async () => {
          throw new Error('connection refused');
        },
        pool: () => ({ total: 10, idle: 7, waiting: 0 }),
      }),
    );
    const s = await scrape(metrics);
    expect(s.value('openassist_store_pool_connections', { state: 'idle' })).toBe(7);
    expect(s.text).not.toContain('openassist_sqlite_wal_bytes');
    expect(s.series('openassist_agents_by_version')).toEqual([]);
  });

  it("shows the audit trail's backlog as the trail counts it at scrape time", async () => {
    const metrics = new ServerMetrics(new Set());
    let backlog = 12;
    metrics.watch(sources({ auditBacklog: () => backlog }));
    expect((await scrape(metrics)).value('openassist_audit_backlog_records')).toBe(12);
    backlog = 0;
    expect((await scrape(metrics)).value('openassist_audit_backlog_records')).toBe(0);
  });

  it('keeps two servers in one process apart', async () => {
    const a = new ServerMetrics(new Set(['DescribeRegions']));
    const b = new ServerMetrics(new Set(['DescribeRegions']));
    a.apiRequest('DescribeRegions', '', 0.001);
    expect(
      (await scrape(a)).value('openassist_api_requests_total', {
        action: 'DescribeRegions',
        code: 'Success',
      }),
    ).toBe(1);
    expect(
      (await scrape(b)).value('openassist_api_requests_total', {
        action: 'DescribeRegions',
        code: 'Success',
      }),
    ).toBe(0);
  });
});
