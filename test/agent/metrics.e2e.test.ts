import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOf } from '../../bench/stats.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type Backend, backendFactories } from '../helpers/backends.js';
import { waitFor } from '../helpers/deadline.js';
import { parseExposition, scrapeMetrics } from '../helpers/metrics-scrape.js';
import { v3Raw } from '../helpers/raw-client.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// A scripted workload through the official SDK, then /metrics scraped: every counter must have
// moved by exactly what the workload did, on both stores.

const region = 'cn-hangzhou';
const b64 = (text: string) => Buffer.from(text).toString('base64');

interface StatusRow {
  InstanceId: string;
  CloudAssistantVersion: string;
  JournalBytes?: number;
  PendingEvents?: number;
  HealthReportTime?: string;
  ResourceUsage?: { State: string };
}

for (const factory of backendFactories) {
  const available = await factory.available();
  describe.skipIf(!available)(`/metrics after a scripted workload on ${factory.name}`, () => {
    let backend: Backend;
    let server: ServerProcess;
    let client: EcsClient;
    let call: ReturnType<typeof apiOf>;
    let agent: AgentProcess;
    let scratch: string;

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'openassist-metrics-'));
      backend = factory.make();
      server = await startServerProcess({
        ...(backend.databaseUrl && { databaseUrl: backend.databaseUrl }),
        // Heartbeats every second: the agent's health reaches the server quickly.
        env: { OPENASSIST_HEARTBEAT_S: '1' },
      });
      client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
      call = apiOf(server);
      const { body } = await client.createActivation(
        new Ecs.CreateActivationRequest({ regionId: region, instanceCount: 1 }),
      );
      agent = await startAgentProcess({
        serverUrl: server.url,
        activationId: body?.activationId ?? '',
        activationCode: body?.activationCode ?? '',
      });
    }, 60_000);

    afterAll(async () => {
      await agent?.stop();
      await server?.stop();
      await backend?.dispose();
      await rm(scratch, { recursive: true, force: true });
    });

    async function status(): Promise<StatusRow> {
      const body = (await call('DescribeCloudAssistantStatus', { 'InstanceId.1': agent.instanceId })) as {
        InstanceCloudAssistantStatusSet: { InstanceCloudAssistantStatus: StatusRow[] };
      };
      const row = body.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus[0];
      if (!row) throw new Error('no status row');
      return row;
    }

    async function createCommand(name: string, script: string): Promise<string> {
      const { body } = await client.createCommand(
        new Ecs.CreateCommandRequest({
          regionId: region,
          name,
          type: 'RunShellScript',
          commandContent: b64(script),
        }),
      );
      return body?.commandId ?? '';
    }

    async function invoke(commandId: string): Promise<string> {
      const { body } = await client.invokeCommand(
        new Ecs.InvokeCommandRequest({ regionId: region, commandId, instanceId: [agent.instanceId] }),
      );
      return body?.invokeId ?? '';
    }

    async function ended(invokeId: string): Promise<boolean> {
      const { body } = await client.describeInvocations(
        new Ecs.DescribeInvocationsRequest({ regionId: region, invokeId }),
      );
      const status = body?.invocations?.invocation?.[0]?.invocationStatus ?? '';
      return ['Success', 'Failed'].includes(status);
    }

    /** A sent file is listed apart from commands' invocations. */
    async function fileEnded(invokeId: string): Promise<boolean> {
      const { body } = await client.describeSendFileResults(
        new Ecs.DescribeSendFileResultsRequest({ regionId: region, invokeId }),
      );
      return body?.invocations?.invocation?.[0]?.invocationStatus === 'Success';
    }

    it('counts requests, invocations, runs and dispatch by exactly what the workload did', async () => {
      // The fleet gauges are read at most every 5 s: wait until one shows the agent online.
      const before = await waitFor(
        'the agent online in the metrics',
        async () => {
          const scrape = await scrapeMetrics(server.url);
          return scrape.value('openassist_agents_online') === 1 ? scrape : undefined;
        },
        20_000,
      );
      const okCommand = await createCommand('metrics-ok', 'echo ok');
      const failCommand = await createCommand('metrics-fail', 'echo failing; exit 3');
      const invokeIds = [
        await invoke(okCommand),
        await invoke(okCommand),
        await invoke(okCommand),
        await invoke(failCommand),
        await invoke(failCommand),
      ];
      const { body: sent } = await client.sendFile(
        new Ecs.SendFileRequest({
          regionId: region,
          name: 'metrics.conf',
          content: 'x=1\n',
          targetDir: join(scratch, 'files'),
          instanceId: [agent.instanceId],
        }),
      );
      const fileId = sent?.invokeId ?? '';
      await expectApiError(invoke('c-0000000000000000000'), 'InvalidCmdId.NotFound', 404);
      const unknown = await v3Raw({
        url: server.url,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
        action: 'DescribeNothingAtAll',
        params: { RegionId: region },
      });
      expect(unknown.json.Code).toBe('InvalidAction.NotFound');
      await waitFor(
        'every run to end',
        async () =>
          (await Promise.all([...invokeIds.map(ended), fileEnded(fileId)])).every(Boolean) ? true : undefined,
        30_000,
      );
      const after = await scrapeMetrics(server.url);
      const delta = (name: string, labels?: Record<string, string>) =>
        after.value(name, labels) - before.value(name, labels);

      expect(delta('openassist_api_requests_total', { action: 'InvokeCommand', code: 'Success' })).toBe(5);
      expect(
        delta('openassist_api_requests_total', { action: 'InvokeCommand', code: 'InvalidCmdId.NotFound' }),
      ).toBe(1);
      expect(delta('openassist_api_requests_total', { action: 'CreateCommand', code: 'Success' })).toBe(2);
      expect(
        delta('openassist_api_requests_total', { action: 'unknown', code: 'InvalidAction.NotFound' }),
      ).toBe(1);
      expect(delta('openassist_api_request_duration_seconds_count', { action: 'InvokeCommand' })).toBe(6);
      expect(delta('openassist_invocations_created_total', { repeat_mode: 'Once' })).toBe(5);
      expect(delta('openassist_invocations_created_total', { repeat_mode: 'File' })).toBe(1);
      // Three scripts and the file.
      expect(delta('openassist_runs_ended_total', { status: 'Success' })).toBe(4);
      expect(delta('openassist_runs_ended_total', { status: 'Failed' })).toBe(2);
      expect(delta('openassist_run_duration_seconds_count', { status: 'Success' })).toBe(4);
      expect(delta('openassist_run_duration_seconds_count', { status: 'Failed' })).toBe(2);
      expect(delta('openassist_dispatch_latency_seconds_count', { stage: 'delivered' })).toBe(6);
      expect(delta('openassist_dispatch_latency_seconds_count', { stage: 'started' })).toBe(6);
      expect(delta('openassist_delivery_timeouts_total')).toBe(0);
      // Every call answered left exactly one audit record, stored before its answer.
      const total = (scrape: typeof after, name: string) =>
        scrape.series(name).reduce((sum, sample) => sum + sample.value, 0);
      const calls =
        total(after, 'openassist_api_requests_total') - total(before, 'openassist_api_requests_total');
      expect(calls).toBeGreaterThanOrEqual(9);
      expect(delta('openassist_audit_records_total', { outcome: 'stored' })).toBe(calls);
      expect(delta('openassist_audit_records_total', { outcome: 'failed' })).toBe(0);
      // Each record is stored before its call is answered: none is left behind.
      expect(after.value('openassist_audit_backlog_records')).toBe(0);
      expect(delta('openassist_store_query_duration_seconds_count', { operation: 'read' })).toBeGreaterThan(
        0,
      );
      expect(delta('openassist_store_query_duration_seconds_count', { operation: 'write' })).toBeGreaterThan(
        0,
      );
      expect(after.value('openassist_agents_connected')).toBe(1);
      const { CloudAssistantVersion } = await status();
      expect(after.series('openassist_agents_by_version')).toEqual([
        { labels: { version: CloudAssistantVersion }, value: 1 },
      ]);
      // prom-client's process and event-loop metrics, unprefixed.
      expect(after.names()).toContain('process_resident_memory_bytes');
      expect(after.names()).toContain('nodejs_eventloop_lag_seconds');
      // The store's own gauge: the pool on PostgreSQL, the write-ahead log on SQLite.
      if (factory.name === 'postgres') {
        expect(after.value('openassist_store_pool_connections', { state: 'total' })).toBeGreaterThan(0);
        expect(after.names()).not.toContain('openassist_sqlite_wal_bytes');
      } else {
        expect(after.names()).toContain('openassist_sqlite_wal_bytes');
        expect(after.series('openassist_store_pool_connections')).toEqual([]);
      }
    }, 60_000);

    it("shows the agent's health per instance and in the fleet's aggregates", async () => {
      // The runs above wrote the agent's journal; its next heartbeat says how large it is.
      const row = await waitFor('a health report', async () => {
        const current = await status();
        return (current.JournalBytes ?? 0) > 0 ? current : undefined;
      });
      expect(row.PendingEvents).toBeGreaterThanOrEqual(0);
      expect(Date.parse(row.HealthReportTime ?? '')).toBeGreaterThan(Date.now() - 60_000);
      expect(row.ResourceUsage?.State).toBe('none');
      const scrape = await waitFor(
        'the journal in the aggregates',
        async () => {
          const current = await scrapeMetrics(server.url);
          return current.value('openassist_agent_journal_bytes', { stat: 'sum' }) > 0 ? current : undefined;
        },
        20_000,
      );
      expect(scrape.value('openassist_agent_journal_bytes', { stat: 'max' })).toBe(
        scrape.value('openassist_agent_journal_bytes', { stat: 'sum' }),
      );
      expect(scrape.series('openassist_agent_pending_events').map((s) => s.labels.stat)).toEqual([
        'sum',
        'max',
      ]);
      // Heartbeats every second: the oldest online agent was heard within a few seconds.
      expect(scrape.value('openassist_agent_heartbeat_age_seconds', { stat: 'max' })).toBeLessThan(10);
      expect(scrape.value('openassist_agents_resource_capped')).toBe(0);
    }, 40_000);
  });
}

it('reads the exposition format it is given', () => {
  const scrape = parseExposition(
    '# HELP a_total x\n# TYPE a_total counter\na_total{code="Success",action="X"} 3\nb 1.5\n',
  );
  expect(scrape.value('a_total', { action: 'X', code: 'Success' })).toBe(3);
  expect(scrape.value('b')).toBe(1.5);
  expect(scrape.value('missing')).toBe(0);
  expect(() => parseExposition('not a sample')).toThrow();
});
