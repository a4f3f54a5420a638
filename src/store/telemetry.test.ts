import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeHarnesses } from '../../test/helpers/backends.js';
import { activationRecord, instanceRecord, invocationRecord } from '../../test/helpers/store-records.js';
import { openStore } from './open-store.js';
import { operationOfSql } from './sql/telemetry.js';
import type { EndedRun, QueryOperation, Store } from './store.js';

// What the store tells the metrics (docs/metrics.md): the fleet's figures in one pass, each
// statement's kind and time, and every run that ends, on both databases.

const harnesses = storeHarnesses('openassist-telemetry-');

const nowMs = 1_800_000_000_000;

for (const harness of harnesses) {
  const available = await harness.available();
  describe.skipIf(!available)(`store telemetry on ${harness.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    const queries: QueryOperation[] = [];
    const seconds: number[] = [];
    const ended: EndedRun[] = [];

    beforeAll(async () => {
      const fresh = await harness.fresh();
      dispose = fresh.dispose;
      store = await openStore(fresh.url, {
        onQuery: (operation, took) => {
          queries.push(operation);
          seconds.push(took);
        },
      });
      store.invocations.onRunEnded((run) => ended.push(run));
    });

    afterAll(async () => {
      await store?.close();
      await dispose?.();
    });

    async function instance(id: string, agentVersion: string): Promise<void> {
      await store.instances.register('act-t', (activation) => instanceRecord(id, activation));
      await store.instances.hello(id, {
        bootId: 'b',
        hostname: 'h',
        osVersion: '',
        agentVersion,
        timeZone: 'UTC',
        shells: [],
        atMs: nowMs - 5_000,
        nodeId: 'node-t',
      });
    }

    it('answers zeros for an empty fleet, and its own dialect gauge', async () => {
      expect(await store.telemetry.fleet(0)).toEqual({
        online: 0,
        versions: [],
        pendingTasks: 0,
        webhookBacklog: 0,
        outputUploadBacklog: 0,
        journalBytesSum: 0,
        journalBytesMax: 0,
        pendingEventsSum: 0,
        pendingEventsMax: 0,
        oldestHeartbeatAtMs: 0,
        resourceCapped: 0,
      });
      if (harness.name === 'sqlite') {
        expect(store.telemetry.walBytes()).toBeGreaterThan(0);
        expect(store.telemetry.pool()).toBeUndefined();
      } else {
        expect(store.telemetry.walBytes()).toBeUndefined();
        expect(store.telemetry.pool()?.total).toBeGreaterThan(0);
      }
    });

    it("sums the online agents' health, versions and caps, and counts undelivered runs", async () => {
      await store.activations.insert(activationRecord('act-t', 10));
      await instance('mi-t1', '0.5.0');
      await instance('mi-t2', '0.5.0');
      await instance('mi-t3', '0.4.0');
      await instance('mi-t4', '0.5.0');
      await store.instances.heartbeat('mi-t1', nowMs - 2_000, { journalBytes: 1_000, pendingEvents: 3 });
      await store.instances.heartbeat('mi-t2', nowMs - 1_000, { journalBytes: 5_000, pendingEvents: 1 });
      // An older agent: no health in its heartbeat.
      await store.instances.heartbeat('mi-t3', nowMs - 1_000);
      // Offline: its figures are left out.
      await store.instances.heartbeat('mi-t4', nowMs - 1_000, { journalBytes: 99_999, pendingEvents: 99 });
      await store.instances.disconnected('mi-t4', 'node-t');
      await store.instances.reportResourceUsage('mi-t2', '{"state":"applied"}', true);
      await store.instances.reportResourceUsage('mi-t3', '{"state":"unavailable"}', false);
      await store.invocations.create(invocationRecord({ id: 't-telemetry', createdAtMs: nowMs }), [
        { instanceId: 'mi-t1', status: 'Pending', errorCode: '', errorInfo: '' },
        { instanceId: 'mi-t2', status: 'Pending', errorCode: '', errorInfo: '' },
        { instanceId: 'mi-t3', status: 'Invalid', errorCode: 'ClientNeedUpgrade', errorInfo: '' },
      ]);
      // Born final: heard at once.
      expect(ended.map((run) => run.status)).toEqual(['Invalid']);
      await store.invocations.updateRun(
        { invokeId: 't-telemetry', instanceId: 'mi-t1', execution: 0 },
        () => ({ delivered: true, status: 'Running', startTimeMs: nowMs + 10 }),
        nowMs + 10,
      );
      await store.invocations.updateRun(
        { invokeId: 't-telemetry', instanceId: 'mi-t1', execution: 0 },
        () => ({ status: 'Success', exitCode: 0, finishTimeMs: nowMs + 1_010 }),
        nowMs + 1_010,
      );
      expect(ended.map((run) => run.status)).toEqual(['Invalid', 'Success']);
      expect(ended[1]).toMatchObject({ startTimeMs: nowMs + 10, finishTimeMs: nowMs + 1_010 });

      const fleet = await store.telemetry.fleet(nowMs - 60_000);
      expect(fleet).toMatchObject({
        online: 3,
        pendingTasks: 1,
        webhookBacklog: 0,
        outputUploadBacklog: 0,
        journalBytesSum: 6_000,
        journalBytesMax: 5_000,
        pendingEventsSum: 4,
        pendingEventsMax: 3,
        oldestHeartbeatAtMs: nowMs - 2_000,
        resourceCapped: 1,
      });
      expect([...fleet.versions].sort((a, b) => a.version.localeCompare(b.version))).toEqual([
        { version: '0.4.0', count: 1 },
        { version: '0.5.0', count: 2 },
      ]);
      // Heard too long ago: not online.
      expect((await store.telemetry.fleet(nowMs)).online).toBe(0);
      // The instance as the API reads it carries the health it reported.
      expect((await store.instances.find('mi-t2'))?.health).toEqual({
        journalBytes: 5_000,
        pendingEvents: 1,
        reportedAtMs: nowMs - 1_000,
      });
      expect((await store.instances.find('mi-t3'))?.health).toBeUndefined();
    });

    it("hears the ends no agent reported: a rolling run's held instances cancelled past MaxErrors", async () => {
      const base = invocationRecord({ id: '', createdAtMs: nowMs });
      await store.invocations.create(
        {
          ...base,
          id: 't-rolling-ends',
          rolling: { maxConcurrency: '1', maxErrors: '0', concurrency: 1, errors: 0 },
        },
        ['mi-t1', 'mi-t2', 'mi-t3'].map((instanceId, i) => ({
          instanceId,
          status: 'Pending' as const,
          errorCode: '',
          errorInfo: '',
          held: i > 0,
        })),
      );
      ended.length = 0;
      // The one released run fails: past MaxErrors, the two held ones end Cancelled in the same write.
      await store.invocations.updateRun(
        { invokeId: 't-rolling-ends', instanceId: 'mi-t1', execution: 0 },
        () => ({ status: 'Failed', exitCode: 1, finishTimeMs: nowMs + 5 }),
        nowMs + 5,
      );
      expect(ended.map((run) => run.status).sort()).toEqual(['Cancelled', 'Cancelled', 'Failed']);
    });

    it('times every statement as a read, a write or transaction control', () => {
      expect(new Set(queries)).toEqual(new Set(['read', 'write', 'transaction']));
      expect(seconds.every((took) => took >= 0 && took < 60)).toBe(true);
    });

    it('times a statement that fails too', async () => {
      const before = queries.length;
      // The same activation again: its primary key refuses it.
      await expect(store.activations.insert(activationRecord('act-t', 10))).rejects.toThrow();
      expect(queries.slice(before)).toContain('write');
    });
  });
}

describe('operationOfSql', () => {
  it('names statements by their first word', () => {
    expect(operationOfSql('begin')).toBe('transaction');
    expect(operationOfSql('  COMMIT')).toBe('transaction');
    expect(operationOfSql('select 1')).toBe('read');
    expect(operationOfSql('(select 1) union (select 2)')).toBe('read');
    expect(operationOfSql('WITH x AS (SELECT 1) SELECT * FROM x')).toBe('read');
    expect(operationOfSql('with c as (insert into t values (1)) update u set a = 1')).toBe('write');
    expect(operationOfSql('WITH q AS (INSERT INTO quota SELECT 1 RETURNING 1) SELECT * FROM q')).toBe(
      'write',
    );
    expect(operationOfSql('PRAGMA optimize')).toBe('read');
    expect(operationOfSql('insert into t values (1)')).toBe('write');
    expect(operationOfSql('delete from t')).toBe('write');
    expect(operationOfSql('')).toBe('write');
  });
});
