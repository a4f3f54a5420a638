import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeHarnesses } from '../../test/helpers/backends.js';
import { waitFor } from '../../test/helpers/deadline.js';
import { activationRecord, instanceRecord, invocationRecord } from '../../test/helpers/store-records.js';
import type { Command } from '../domain/command.js';
import type { FileUpload } from '../domain/file-upload.js';
import { newCommandId } from '../domain/ids.js';
import type { InvocationInstance, RepeatMode } from '../domain/invocation.js';
import { isTimedInvocation } from '../domain/invocation-filters.js';
import { applyTaskEvent, followExecution, type RunProgress } from '../domain/invocation-state.js';
import type { TerminalSession } from '../domain/terminal-session.js';
import { matchesPattern, textPattern } from '../domain/text-pattern.js';
import type { TaskEvent } from '../protocol/messages.js';
import { postgresMigrations } from './migrations/postgres.js';
import { sqliteMigrations } from './migrations/sqlite.js';
import { openStore } from './open-store.js';
import type { InitialRun, RunWrites, Store } from './store.js';

const harnesses = storeHarnesses('openassist-store-');

let clock = 1_700_000_000_000;

/** A webhook of every event (of one resource group, if given), at an address nobody answers. */
const webhookRecord = (id: string, resourceGroupId = '') => ({
  id,
  url: 'http://127.0.0.1:9/hook',
  secretSealed: 'v1:sealed',
  resourceGroupId,
  tag: { key: '', value: '' },
  createdAtMs: 1,
});

const finishedEvent = {
  kind: 'finished',
  atMs: 110,
  status: 'Success',
  exitCode: 0,
  errorCode: '',
  errorInfo: '',
  droppedBytes: 0,
} as const;

function sampleCommand(overrides: Partial<Command> = {}): Omit<Command, 'seq'> {
  return {
    id: newCommandId(),
    regionId: 'cn-hangzhou',
    name: 'sample',
    description: '',
    type: 'RunShellScript',
    contentBase64: Buffer.from('echo hi').toString('base64'),
    workingDir: '',
    timeoutSeconds: 60,
    enableParameter: false,
    parameterNames: [],
    launcher: '',
    resourceGroupId: '',
    clientToken: '',
    version: 1,
    invokeTimes: 0,
    createdAtMs: clock++,
    tags: [],
    ...overrides,
  };
}

it('keeps the SQLite and PostgreSQL migrations in lockstep', () => {
  const shape = (list: typeof sqliteMigrations) => list.map(({ version, name }) => ({ version, name }));
  expect(shape(sqliteMigrations)).toEqual(shape(postgresMigrations));
  expect(sqliteMigrations.map((m) => m.version)).toEqual(sqliteMigrations.map((_, i) => i + 1));
});

for (const harness of harnesses) {
  const available = await harness.available();
  describe.skipIf(!available)(`Store contract on ${harness.name}`, () => {
    let store: Store;
    let url: string;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      ({ url, dispose } = await harness.fresh());
      store = await openStore(url);
    });

    afterAll(async () => {
      await store?.close();
      await dispose?.();
    });

    it('answers ping and names its dialect', async () => {
      await store.ping();
      expect(store.dialect).toBe(harness.name);
    });

    it('migrates once when several servers open the same empty database at once', async () => {
      const { url: freshUrl, dispose: disposeFresh } = await harness.fresh();
      try {
        if (harness.name === 'sqlite') {
          // Separate processes: better-sqlite3 is synchronous, so only processes truly race on the file.
          const module = new URL('../../dist/src/store/open-store.js', import.meta.url).href;
          const script = `const m = await import(${JSON.stringify(module)}); const s = await m.openStore(${JSON.stringify(freshUrl)}); await s.close();`;
          const codes = await Promise.all(
            Array.from(
              { length: 3 },
              () =>
                new Promise<number | null>((resolve) => {
                  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
                    stdio: 'inherit',
                  });
                  child.on('exit', resolve);
                }),
            ),
          );
          expect(codes).toEqual([0, 0, 0]);
        } else {
          const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(freshUrl)));
          await Promise.all(stores.map((s) => s.close()));
        }
        const reopened = await openStore(freshUrl);
        expect(await reopened.accessKeys.count()).toBe(0);
        await reopened.close();
      } finally {
        await disposeFresh();
      }
    });

    describe('access keys', () => {
      it('stores, finds, counts and disables keys', async () => {
        const before = await store.accessKeys.count();
        await store.accessKeys.insert({
          id: 'LTAIa',
          secret: 's',
          status: 'Active',
          description: 'd',
          createdAtMs: 5,
        });
        expect(await store.accessKeys.get('LTAIa')).toEqual({
          id: 'LTAIa',
          secret: 's',
          status: 'Active',
          description: 'd',
          createdAtMs: 5,
        });
        expect(await store.accessKeys.count()).toBe(before + 1);
        expect(await store.accessKeys.setStatus('LTAIa', 'Inactive')).toBe(true);
        expect((await store.accessKeys.get('LTAIa'))?.status).toBe('Inactive');
        expect(await store.accessKeys.setStatus('LTAInone', 'Inactive')).toBe(false);
        expect(await store.accessKeys.get('LTAInone')).toBeUndefined();
        expect((await store.accessKeys.list()).map((key) => key.id)).toContain('LTAIa');
        expect(await store.accessKeys.delete('LTAIa')).toBe(true);
        expect(await store.accessKeys.delete('LTAIa')).toBe(false);
        expect(await store.accessKeys.get('LTAIa')).toBeUndefined();
      });

      it('keeps a key policy and resource-group scope', async () => {
        const limited = {
          id: 'LTAIlimited',
          secret: 's',
          status: 'Active' as const,
          description: '',
          createdAtMs: 6,
          policy: '{"Statement":[{"Effect":"Allow","Action":"ecs:Describe*"}]}',
          resourceGroupId: 'rg-x',
        };
        await store.accessKeys.insert(limited);
        expect(await store.accessKeys.get('LTAIlimited')).toEqual(limited);
        await store.accessKeys.delete('LTAIlimited');
      });
    });

    describe('cluster', () => {
      it('gives a lease to one holder at a time, renews it for that holder, and passes it on expiry', async () => {
        const claims = await Promise.all(
          ['node-a', 'node-b', 'node-c'].map((holder) =>
            store.cluster.acquireLease('job', holder, 1_000, 500),
          ),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        const holder = ['node-a', 'node-b', 'node-c'][claims.indexOf(true)] ?? '';
        const other = holder === 'node-a' ? 'node-b' : 'node-a';
        expect(await store.cluster.acquireLease('job', holder, 1_400, 500)).toBe(true);
        expect(await store.cluster.acquireLease('job', other, 1_800, 500)).toBe(false);
        expect(await store.cluster.acquireLease('job', other, 1_901, 500)).toBe(true);
        expect(await store.cluster.acquireLease('other-job', holder, 1_901, 500)).toBe(true);
      });

      it('lists nodes by heartbeat and forgets silent ones, marking their agents offline', async () => {
        const node = (id: string, heartbeatAtMs: number) => ({
          id,
          url: `http://${id}`,
          version: '1',
          startedAtMs: 1,
          heartbeatAtMs,
          agents: 2,
        });
        await store.cluster.heartbeat(node('node-live', 100));
        await store.cluster.heartbeat(node('node-dead', 10));
        await store.cluster.heartbeat(node('node-live', 200));
        expect((await store.cluster.nodes()).map((n) => [n.id, n.heartbeatAtMs])).toEqual([
          ['node-dead', 10],
          ['node-live', 200],
        ]);
        expect(await store.cluster.forgetSilentNodes(50)).toEqual(['node-dead']);
        expect((await store.cluster.nodes()).map((n) => n.id)).toEqual(['node-live']);
      });

      it.skipIf(harness.name !== 'postgres')(
        'carries notifications between the nodes of one database',
        async () => {
          const other = await openStore(url);
          try {
            const received: string[] = [];
            const stop = await other.notifications.listen(
              (payload) => received.push(payload),
              () => undefined,
            );
            await store.notifications.publish('hello from a node');
            await waitFor('the notification', () =>
              received.includes('hello from a node') ? true : undefined,
            );
            await stop();
          } finally {
            await other.close();
          }
        },
      );
    });

    describe('cloud assistant settings', () => {
      it('keeps one value per region and setting type, replaced in place', async () => {
        expect(await store.settings.get('cn-hangzhou', 'AgentUpgradeConfig')).toBeUndefined();
        await store.settings.put('cn-hangzhou', 'AgentUpgradeConfig', '{"enabled":true}', 1_000);
        await store.settings.put('cn-beijing', 'AgentUpgradeConfig', '{"enabled":false}', 1_000);
        await store.settings.put('cn-hangzhou', 'SessionManagerConfig', '{}', 1_000);
        await store.settings.put('cn-hangzhou', 'AgentUpgradeConfig', '{"enabled":false,"x":1}', 2_000);
        expect(await store.settings.get('cn-hangzhou', 'AgentUpgradeConfig')).toBe('{"enabled":false,"x":1}');
        expect(await store.settings.get('cn-beijing', 'AgentUpgradeConfig')).toBe('{"enabled":false}');
        expect(await store.settings.get('cn-shanghai', 'AgentUpgradeConfig')).toBeUndefined();
        expect(await store.settings.all('AgentUpgradeConfig')).toEqual(
          new Map([
            ['cn-hangzhou', '{"enabled":false,"x":1}'],
            ['cn-beijing', '{"enabled":false}'],
          ]),
        );
      });
    });

    describe("agents' resource-caps reports", () => {
      it('keeps the last report per instance, and answers none for an instance that never sent one', async () => {
        await store.activations.insert(activationRecord('act-caps', 2));
        const register = (id: string) =>
          store.instances.register('act-caps', (activation) =>
            instanceRecord(id, activation, { agentVersion: '1' }),
          );
        await register('mi-caps1');
        await register('mi-caps2');
        await store.instances.reportResourceUsage('mi-caps1', '{"state":"none"}', false);
        await store.instances.reportResourceUsage('mi-caps1', '{"state":"applied"}', true);
        expect(await store.instances.resourceUsageReports(['mi-caps1', 'mi-caps2', 'mi-gone'])).toEqual(
          new Map([
            ['mi-caps1', '{"state":"applied"}'],
            ['mi-caps2', ''],
          ]),
        );
        expect(await store.instances.resourceUsageReports([])).toEqual(new Map());
      });
    });

    describe('nonces', () => {
      it('claims a nonce once per key', async () => {
        expect(await store.nonces.claim('k1', 'n1', 1_000)).toBe(true);
        expect(await store.nonces.claim('k1', 'n1', 1_000)).toBe(false);
        expect(await store.nonces.claim('k2', 'n1', 1_000)).toBe(true);
      });

      it('lets exactly one of many concurrent claims win', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.nonces.claim('k3', 'race', 1_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('answers each claim of one batch on its own: new, stored before, repeated within', async () => {
        expect(await store.nonces.claim('k5', 'seen', 1_000)).toBe(true);
        const results = await Promise.all([
          store.nonces.claim('k5', 'a', 1_000),
          store.nonces.claim('k5', 'seen', 1_000),
          store.nonces.claim('k6', 'a', 1_000),
          store.nonces.claim('k5', 'a', 1_000),
          store.nonces.claim('k5', 'b', 1_000),
        ]);
        expect(results).toEqual([true, false, true, false, true]);
      });

      it('claims nonces an array literal would have to escape, each for itself', async () => {
        const nonces = ['NULL', 'a,b', '{c}', 'd"e', 'f\\g', ' ', 'ü'];
        expect(await Promise.all(nonces.map((n) => store.nonces.claim('k7', n, 1_000)))).toEqual(
          nonces.map(() => true),
        );
        expect(await Promise.all(nonces.map((n) => store.nonces.claim('k7', n, 1_000)))).toEqual(
          nonces.map(() => false),
        );
      });

      it('purges expired nonces only', async () => {
        await store.nonces.claim('k4', 'old', 10);
        await store.nonces.claim('k4', 'new', 10_000_000_000_000);
        expect(await store.nonces.purgeExpired(100)).toBeGreaterThanOrEqual(1);
        expect(await store.nonces.claim('k4', 'old', 10)).toBe(true);
        expect(await store.nonces.claim('k4', 'new', 10)).toBe(false);
      });
    });

    describe('invocations', () => {
      const pending = (ids: readonly string[]): InitialRun[] =>
        ids.map((instanceId) => ({ instanceId, status: 'Pending', errorCode: '', errorInfo: '' }));
      const key = (invokeId: string, instanceId: string, execution = 0) => ({
        invokeId,
        instanceId,
        execution,
      });
      const invocation = (id: string, repeatMode: RepeatMode = 'Once') =>
        invocationRecord({ id, repeatMode, createdAtMs: clock++ });

      it('filters invocations by Timed as the domain rule says', async () => {
        const regionId = 'timed-region';
        const cases = [
          ['t-timed-once', 'Once', 'Running'],
          ['t-timed-period', 'Period', 'Scheduled'],
          ['t-timed-period-stopped', 'Period', 'Stopped'],
          ['t-timed-every', 'EveryReboot', 'Pending'],
          ['t-timed-next-done', 'NextRebootOnly', 'Success'],
          ['t-timed-next', 'NextRebootOnly', 'Stopping'],
        ] as const;
        for (const [id, mode, status] of cases) {
          await store.invocations.create(
            { ...invocation(id, mode), regionId, status },
            pending(['mi-timed']),
          );
        }
        for (const timed of [true, false]) {
          const listed = await store.invocations.list(
            { regionId, timed, tags: [] },
            { style: 'page', pageNumber: 1, pageSize: 50 },
          );
          const expected = cases.filter(([, mode, status]) => isTimedInvocation(mode, status) === timed);
          expect(listed.items.map((item) => item.id).sort()).toEqual(expected.map(([id]) => id).sort());
          expect(listed.totalCount).toBe(expected.length);
        }
      });

      it('keeps the aggregate status right when runs of one invocation finish at the same moment', async () => {
        for (let round = 0; round < 10; round++) {
          const id = `t-race-${round}`;
          const instances = ['mi-a', 'mi-b', 'mi-c'];
          await store.invocations.create(invocation(id), pending(instances));
          await Promise.all(
            instances.map((instanceId) =>
              store.invocations.updateRun(
                key(id, instanceId),
                () => ({ status: 'Success', exitCode: 0 }),
                clock,
              ),
            ),
          );
          expect((await store.invocations.get('cn-hangzhou', id))?.status).toBe('Success');
        }
      });

      describe('rolling runs', () => {
        const rolling = (id: string, concurrency: number, errors: number) => ({
          ...invocation(id),
          rolling: { maxConcurrency: String(concurrency), maxErrors: String(errors), concurrency, errors },
        });
        const held = (ids: readonly string[], released: number): InitialRun[] =>
          pending(ids).map((run, i) => ({ ...run, held: i >= released }));
        const live = async (id: string) =>
          (await store.invocations.runs(id)).filter((run) => run.status === 'Pending' && !run.held);

        it('releases held runs in order as runs end, never more at once, even when runs end together', async () => {
          const id = 't-rolling-race';
          const instances = ['mi-r1', 'mi-r2', 'mi-r3', 'mi-r4', 'mi-r5', 'mi-r6', 'mi-r7'];
          const heard: string[] = [];
          store.invocations.onReleased((ids) => heard.push(...ids));
          await store.invocations.create(rolling(id, 2, -1), held(instances, 2));
          expect(await store.invocations.undelivered('mi-r3')).toEqual([]);
          expect(await store.invocations.withWork(instances)).toEqual(
            expect.arrayContaining(['mi-r1', 'mi-r2']),
          );
          expect((await store.invocations.withWork(instances)).length).toBe(2);
          expect(await store.invocations.overdue(clock + 1_000_000)).not.toContainEqual(key(id, 'mi-r3'));
          const order: string[] = [];
          for (let round = 0; round < 4; round++) {
            const running = await live(id);
            expect(running.length).toBe(Math.min(2, instances.length - order.length));
            order.push(...running.map((run) => run.instanceId));
            await Promise.all(
              running.map((run) =>
                store.invocations.updateRun(
                  key(id, run.instanceId),
                  () => ({ status: 'Success', exitCode: 0 }),
                  clock,
                ),
              ),
            );
          }
          expect(order).toEqual(instances);
          expect(heard.filter((instanceId) => instances.includes(instanceId))).toEqual(
            expect.arrayContaining(instances.slice(2)),
          );
          expect((await store.invocations.get('cn-hangzhou', id))?.status).toBe('Success');
        });

        it('cancels the held runs once more runs failed than MaxErrors allows', async () => {
          const id = 't-rolling-errors';
          const instances = ['mi-e1', 'mi-e2', 'mi-e3', 'mi-e4', 'mi-e5'];
          await store.invocations.create(rolling(id, 2, 1), held(instances, 2));
          const fail = (instanceId: string) =>
            store.invocations.updateRun(
              key(id, instanceId),
              () => ({ status: 'Failed', exitCode: 1 }),
              clock,
            );
          await fail('mi-e1');
          expect((await live(id)).map((run) => run.instanceId)).toEqual(['mi-e2', 'mi-e3']);
          await fail('mi-e2');
          const runs = await store.invocations.runs(id);
          expect(runs.map((run) => [run.status, run.errorCode, run.held ?? false])).toEqual([
            ['Failed', '', false],
            ['Failed', '', false],
            ['Pending', '', false],
            ['Cancelled', 'MaxErrorsExceeded', false],
            ['Cancelled', 'MaxErrorsExceeded', false],
          ]);
        });

        it('stops releasing when StopInvocation cancels the held runs', async () => {
          const id = 't-rolling-stop';
          const instances = ['mi-s1', 'mi-s2', 'mi-s3', 'mi-s4'];
          await store.invocations.create(rolling(id, 1, -1), held(instances, 1));
          expect(await store.invocations.cancelHeld(id, ['mi-s3'], clock)).toBe(1);
          expect(await store.invocations.cancelHeld(id, undefined, clock)).toBe(2);
          await store.invocations.updateRun(
            key(id, 'mi-s1'),
            () => ({ status: 'Success', exitCode: 0 }),
            clock,
          );
          const runs = await store.invocations.runs(id);
          expect(runs.map((run) => run.status)).toEqual(['Success', 'Cancelled', 'Cancelled', 'Cancelled']);
          expect((await store.invocations.get('cn-hangzhou', id))?.rolling).toEqual({
            maxConcurrency: '1',
            maxErrors: '-1',
            concurrency: 1,
            errors: -1,
          });
        });

        it('writes run.finished events for held runs cancelled past MaxErrors, like any run end', async () => {
          await store.webhooks.create(webhookRecord('wh-rolling'));
          expect(await store.webhooks.refreshGate()).toBe(true);
          const id = 't-rolling-hook';
          await store.invocations.create(rolling(id, 1, 0), held(['mi-w1', 'mi-w2', 'mi-w3'], 1));
          await store.invocations.updateRun(
            key(id, 'mi-w1'),
            () => ({ status: 'Failed', exitCode: 1 }),
            clock,
          );
          const far = clock + 1_000_000;
          const bodies = (await store.webhooks.claimDue(far, far + 60_000, 100))
            .filter((entry) => entry.webhookId === 'wh-rolling')
            .map((entry) => JSON.parse(entry.body))
            .filter((body) => body.InvokeId === id);
          const finished = bodies.filter((body) => body.Type === 'run.finished');
          expect(finished.map((body) => [body.InstanceId, body.Status, body.ErrorCode ?? '']).sort()).toEqual(
            [
              ['mi-w1', 'Failed', ''],
              ['mi-w2', 'Cancelled', 'MaxErrorsExceeded'],
              ['mi-w3', 'Cancelled', 'MaxErrorsExceeded'],
            ],
          );
          expect(
            bodies.filter((body) => body.Type === 'invocation.status').map((body) => body.InvocationStatus),
          ).toEqual([(await store.invocations.get('cn-hangzhou', id))?.status]);
          await store.webhooks.delete('wh-rolling');
          expect(await store.webhooks.refreshGate()).toBe(false);
        });
      });

      it('writes webhook events with the change, per matching webhook, and claims each row once', async () => {
        await store.webhooks.create(webhookRecord('wh-all'));
        await store.webhooks.create(webhookRecord('wh-other', 'rg-other'));
        expect(await store.webhooks.refreshGate()).toBe(true);
        await store.invocations.create(invocation('t-hook'), pending(['mi-h1', 'mi-h2']));
        await store.invocations.updateRun(key('t-hook', 'mi-h1'), () => ({ status: 'Running' }), clock);
        await store.invocations.updateRun(
          key('t-hook', 'mi-h1'),
          () => ({ status: 'Success', exitCode: 0 }),
          clock,
        );
        await store.invocations.updateRun(
          key('t-hook', 'mi-h2'),
          () => ({ status: 'Failed', exitCode: 3 }),
          clock,
        );
        const far = clock + 1_000_000;
        const claims = await Promise.all([
          store.webhooks.claimDue(far, far + 60_000, 100),
          store.webhooks.claimDue(far, far + 60_000, 100),
        ]);
        const claimed = claims.flat();
        // Each row to one claimer, all to the webhook of every group.
        expect(new Set(claimed.map((entry) => entry.seq)).size).toBe(claimed.length);
        expect(new Set(claimed.map((entry) => entry.webhookId))).toEqual(new Set(['wh-all']));
        const bodies = claimed
          .map((entry) => JSON.parse(entry.body))
          .sort((a, b) => a.EventId.localeCompare(b.EventId));
        const finished = bodies.filter((body) => body.Type === 'run.finished');
        expect(finished.map((body) => [body.InstanceId, body.Status, body.ExitCode]).sort()).toEqual([
          ['mi-h1', 'Success', 0],
          ['mi-h2', 'Failed', 3],
        ]);
        expect(finished[0]).toMatchObject({ InvokeId: 't-hook', RegionId: 'cn-hangzhou' });
        const aggregate = bodies
          .filter((body) => body.Type === 'invocation.status')
          .map((b) => b.InvocationStatus);
        // One run failed, one succeeded: the invocation ends PartialFailed, said once.
        expect(aggregate).toEqual(['PartialFailed']);
        expect(await store.webhooks.claimDue(far, far + 60_000, 100)).toEqual([]);
        const [first, second, third] = claimed;
        if (!first || !second || !third) throw new Error('expected three events at least');
        await store.webhooks.delivered(first);
        await store.webhooks.retryLater(second, far + 10, 'HTTP 500');
        await store.webhooks.failed(third, 'HTTP 410', far);
        const listed = await store.webhooks.get('wh-all');
        expect(listed).toMatchObject({ deliveredCount: 1, failedCount: 1, lastError: 'HTTP 410' });
        expect(listed?.pending).toBe(claimed.length - 2);
        expect(
          (await store.webhooks.claimDue(far + 10, far + 100, 100)).map((e) => [e.seq, e.attempts]),
        ).toEqual([[second.seq, 1]]);
        expect(await store.webhooks.delete('wh-all')).toBe(true);
        expect(await store.webhooks.delete('wh-all')).toBe(false);
        expect(await store.webhooks.refreshGate()).toBe(true);
        await store.webhooks.delete('wh-other');
        expect(await store.webhooks.refreshGate()).toBe(false);
        expect(await store.webhooks.list()).toEqual([]);
        expect(await store.webhooks.claimDue(far * 2, far * 3, 100)).toEqual([]);
      });

      it('writes the aggregate event of a burst on an invocation of one instance once, with its final status', async () => {
        await store.webhooks.create(webhookRecord('wh-burst'));
        expect(await store.webhooks.refreshGate()).toBe(true);
        await store.invocations.create(invocation('t-hook-burst'), pending(['mi-hb']));
        const burst = (events: TaskEvent[]) =>
          store.invocations.inOneTransaction(async (repo) => {
            for (const event of events)
              await repo.updateRun(
                key('t-hook-burst', 'mi-hb'),
                (run, mode) => applyTaskEvent(run, event, mode),
                120,
              );
          });
        await burst([{ kind: 'accepted' }, { kind: 'started', atMs: 100 }]);
        await burst([{ ...finishedEvent, status: 'Failed', exitCode: 2 } as TaskEvent]);
        // A burst's aggregate event is stamped with the time of its commit.
        const far = Date.now() + 1_000_000;
        const statuses = (await store.webhooks.claimDue(far, far + 60_000, 100))
          .filter((entry) => entry.webhookId === 'wh-burst')
          .map((entry) => JSON.parse(entry.body))
          .filter((body) => body.Type === 'invocation.status' && body.InvokeId === 't-hook-burst')
          .map((body) => body.InvocationStatus);
        expect(statuses).toEqual(['Running', 'Failed']);
        expect((await store.invocations.get('cn-hangzhou', 't-hook-burst'))?.status).toBe('Failed');
        await store.webhooks.delete('wh-burst');
        await store.webhooks.refreshGate();
      });

      it('writes events for a tagged webhook only for invocations or commands with the tag', async () => {
        const hook = (id: string, key: string, value: string) => ({
          id,
          url: 'http://127.0.0.1:9/hook',
          secretSealed: 'v1:sealed',
          resourceGroupId: '',
          tag: { key, value },
          createdAtMs: 1,
        });
        await store.webhooks.create(hook('wh-web', 'team', 'web'));
        await store.webhooks.create(hook('wh-team', 'team', ''));
        await store.webhooks.create(hook('wh-db', 'team', 'db'));
        // One invocation tagged itself, one whose command is tagged, one untagged.
        await store.invocations.create(
          { ...invocation('t-tag-inv'), tags: [{ key: 'team', value: 'web' }] },
          pending(['mi-t']),
        );
        await store.invocations.create(
          { ...invocation('t-tag-cmd'), commandId: 'c-tagged' },
          pending(['mi-t']),
        );
        await store.tags.tag('command', ['c-tagged'], [{ key: 'team', value: 'db' }], 20);
        await store.invocations.create(invocation('t-tag-none'), pending(['mi-t']));
        for (const id of ['t-tag-inv', 't-tag-cmd', 't-tag-none'])
          await store.invocations.updateRun(
            key(id, 'mi-t'),
            () => ({ status: 'Success', exitCode: 0 }),
            clock,
          );
        const far = clock + 1_000_000;
        const claimed = await store.webhooks.claimDue(far, far + 60_000, 100);
        const finished = (webhookId: string) =>
          claimed
            .filter((entry) => entry.webhookId === webhookId)
            .map((entry) => JSON.parse(entry.body))
            .filter((body) => body.Type === 'run.finished')
            .map((body) => body.InvokeId)
            .sort();
        expect(finished('wh-web')).toEqual(['t-tag-inv']);
        expect(finished('wh-db')).toEqual(['t-tag-cmd']);
        expect(finished('wh-team')).toEqual(['t-tag-cmd', 't-tag-inv']);
        expect((await store.webhooks.get('wh-web'))?.tag).toEqual({ key: 'team', value: 'web' });
        for (const id of ['wh-web', 'wh-team', 'wh-db']) await store.webhooks.delete(id);
        expect(await store.webhooks.refreshGate()).toBe(false);
      });

      it('lists the runs of a region changed since a time, oldest first, by group', async () => {
        const since = clock;
        await store.invocations.create(
          { ...invocation('t-changed-a'), regionId: 'changes-region' },
          pending(['mi-c1']),
        );
        await store.invocations.create(
          { ...invocation('t-changed-b'), regionId: 'changes-region', resourceGroupId: 'rg-changes' },
          pending(['mi-c2']),
        );
        await store.invocations.updateRun(
          key('t-changed-b', 'mi-c2'),
          () => ({ status: 'Running' }),
          since + 50,
        );
        await store.invocations.updateRun(
          key('t-changed-a', 'mi-c1'),
          () => ({ status: 'Running' }),
          since + 60,
        );
        const all = await store.invocations.changedSince('changes-region', since + 50, 10);
        expect(all.map((change) => [change.run.invokeId, change.run.status, change.resourceGroupId])).toEqual(
          [
            ['t-changed-b', 'Running', 'rg-changes'],
            ['t-changed-a', 'Running', ''],
          ],
        );
        const grouped = await store.invocations.changedSince('changes-region', 0, 10, 'rg-changes');
        expect(grouped.map((change) => change.run.invokeId)).toEqual(['t-changed-b']);
        expect(await store.invocations.changedSince('changes-region', since + 61, 10)).toEqual([]);
        expect(await store.invocations.changedSince('other-region', 0, 10)).toEqual([]);
      });

      it('counts invocations against the daily quota atomically, per region and UTC day', async () => {
        const quota = { utcDay: '2026-01-01', limit: 5 };
        const outcomes = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            store.invocations.create(invocation(`t-quota-${i}`), pending(['mi-a']), quota),
          ),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(5);
        expect(
          await store.invocations.create(invocation('t-quota-next-day'), pending(['mi-a']), {
            ...quota,
            utcDay: '2026-01-02',
          }),
        ).toBeDefined();
        // Which five win is up to the database; the losers must have left nothing behind.
        for (const [i, outcome] of outcomes.entries()) {
          expect(Boolean(await store.invocations.get('cn-hangzhou', `t-quota-${i}`))).toBe(Boolean(outcome));
        }
      });

      it("counts a new invocation on its command and instances, keeps its runs in the request's order, and a refused one touches nothing", async () => {
        const command = await store.commands.insert(sampleCommand());
        await store.activations.insert(activationRecord('act-counts', 3));
        const ids = ['mi-count-c', 'mi-count-a', 'mi-count-b'];
        for (const id of ids) {
          await store.instances.register('act-counts', (activation) =>
            instanceRecord(id, activation, { agentVersion: '1' }),
          );
        }
        const quota = { utcDay: '2026-02-01', limit: 1 };
        const made = { ...invocation('t-counts'), commandId: command.id, parameters: { a: 'b' } };
        const stored = await store.invocations.create(made, pending(ids), quota);
        expect(stored).toMatchObject({ id: 't-counts', parameters: { a: 'b' } });
        expect(stored?.seq).toBeGreaterThan(0);
        const runs = await store.invocations.runs('t-counts');
        expect(runs.map((run) => run.instanceId)).toEqual(ids);
        expect(runs.map((run) => [run.status, run.execution, run.exitCode, run.held ?? false])).toEqual(
          ids.map(() => ['Pending', 0, null, false]),
        );
        const counts = async () => ({
          command: (await store.commands.get('cn-hangzhou', command.id))?.invokeTimes,
          instances: (await store.instances.getMany('cn-hangzhou', ids)).map((i) => [
            i.invocationCount,
            i.lastInvokedAtMs,
          ]),
        });
        const after = { command: 1, instances: ids.map(() => [1, made.createdAtMs]) };
        expect(await counts()).toEqual(after);
        // Over the quota: no invocation, no runs, no counts.
        const refused = { ...invocation('t-counts-refused'), commandId: command.id };
        expect(await store.invocations.create(refused, pending(ids), quota)).toBeUndefined();
        expect(await store.invocations.get('cn-hangzhou', 't-counts-refused')).toBeUndefined();
        expect(await store.invocations.runs('t-counts-refused')).toEqual([]);
        expect(await counts()).toEqual(after);
      });

      it('stores output by offset once, caps it, and returns the tail', async () => {
        await store.invocations.create(invocation('t-output'), pending(['mi-a']));
        const chunk = (text: string) => Buffer.from(text);
        const run0 = key('t-output', 'mi-a');
        expect(await store.invocations.appendOutput(run0, 0, chunk('hello '), 10)).toBe(6);
        expect(await store.invocations.appendOutput(run0, 0, chunk('hello '), 10)).toBe(6);
        expect(await store.invocations.appendOutput(run0, 6, chunk('world!'), 10)).toBe(10);
        expect((await store.invocations.outputTail(run0, 7)).toString()).toBe('lo worl');
        const [run] = await store.invocations.runs('t-output');
        expect(run).toMatchObject({ outputBytes: 10, droppedBytes: 2 });
      });

      it('counts a gap that can never be filled and every byte past the cap as dropped, in and out of a transaction', async () => {
        await store.invocations.create(invocation('t-gaps'), pending(['mi-g1', 'mi-g2']));
        const text = (s: string) => Buffer.from(s);
        for (const [instanceId, inOne] of [
          ['mi-g1', false],
          ['mi-g2', true],
        ] as const) {
          const run0 = key('t-gaps', instanceId);
          const appendAll = async (repo: RunWrites) => {
            await repo.appendOutput(run0, 0, text('abc'), 10);
            // Bytes 3-5 were lost on the way (an agent's unjournalled chunk): a gap of 3.
            await repo.appendOutput(run0, 6, text('ghi'), 10);
            // Repeats of what was stored or counted are ignored.
            await repo.appendOutput(run0, 6, text('ghi'), 10);
            await repo.appendOutput(run0, 3, text('def'), 10);
            // The cap (10) leaves room for 4 of these 6; the chunks after it are dropped whole.
            await repo.appendOutput(run0, 9, text('jklmno'), 10);
            await repo.appendOutput(run0, 15, text('pqrst'), 10);
            return repo.appendOutput(run0, 20, text('uv'), 10);
          };
          const stored = inOne
            ? await store.invocations.inOneTransaction(appendAll)
            : await appendAll(store.invocations);
          expect(stored).toBe(10);
          expect((await store.invocations.outputTail(run0, 100)).toString()).toBe('abcghijklm');
          // 22 bytes sent: 10 stored, 12 dropped (3 lost, 2 + 5 + 2 past the cap).
          expect(await store.invocations.run(run0)).toMatchObject({ outputBytes: 10, droppedBytes: 12 });
        }
      });

      it('applies a burst of one run’s events in one transaction to the same rows as one by one', async () => {
        // SQLite holds a burst's row changes back and writes each row once before the commit;
        // PostgreSQL writes each change at once. Both must end with the rows of one-by-one.
        await store.invocations.create(invocation('t-burst', 'Period'), pending(['mi-one', 'mi-all']));
        const events: TaskEvent[] = [
          { kind: 'accepted', scheduledAtMs: 90 },
          { kind: 'started', atMs: 100 },
          { kind: 'output', offset: 0, data: Buffer.from('abc').toString('base64') },
          { kind: 'output', offset: 6, data: Buffer.from('ghijkl').toString('base64') },
          { kind: 'output', offset: 3, data: Buffer.from('def').toString('base64') },
          { ...finishedEvent, outputBytes: 14, droppedBytes: 1 },
        ];
        const apply = async (repo: RunWrites, instanceId: string, event: TaskEvent) => {
          const runKey = key('t-burst', instanceId, 1);
          if (event.kind === 'output') {
            return repo.appendOutput(runKey, event.offset, Buffer.from(event.data, 'base64'), 10);
          }
          const updated = await repo.updateRun(runKey, (run, mode) => applyTaskEvent(run, event, mode), 120, {
            create: true,
            follow: (standing, run, mode) => followExecution(standing, run, mode, 120),
          });
          return updated && { ...updated, instanceId: '' };
        };
        const oneByOne = [];
        for (const event of events) oneByOne.push(await apply(store.invocations, 'mi-one', event));
        const inOne = await store.invocations.inOneTransaction(async (repo) => {
          const answers = [];
          for (const event of events) answers.push(await apply(repo, 'mi-all', event));
          return answers;
        });
        expect(inOne).toEqual(oneByOne);
        const rowsOf = async (instanceId: string) =>
          (await store.invocations.executions('t-burst', instanceId)).map((run) => ({
            ...run,
            instanceId: '',
          }));
        const rows = await rowsOf('mi-one');
        // 9 stored (a gap of 3 dropped, a repeat ignored); 14 sent: 2 never arrived, 1 the agent dropped.
        expect(rows).toMatchObject([
          { execution: 0, status: 'Scheduled', repeats: 1 },
          { execution: 1, status: 'Success', outputBytes: 9, droppedBytes: 6, scheduledAtMs: 90 },
        ]);
        expect(await rowsOf('mi-all')).toEqual(rows);
        const output = (instanceId: string) =>
          store.invocations.outputTail(key('t-burst', instanceId, 1), 100);
        expect((await output('mi-all')).toString()).toBe((await output('mi-one')).toString());
        expect((await store.invocations.get('cn-hangzhou', 't-burst'))?.status).toBe('Scheduled');
      });

      it('gives the aggregate of every row 0 after bursts, with one instance or several', async () => {
        // A burst of one instance's run knows its invocation's only row 0; with two, it must read the other.
        await store.invocations.create(invocation('t-agg-one'), pending(['mi-solo']));
        await store.invocations.create(invocation('t-agg-two'), pending(['mi-x', 'mi-y']));
        const burst = (invokeId: string, instanceId: string, status: string, exitCode: number) =>
          store.invocations.inOneTransaction(async (repo) => {
            const events: TaskEvent[] = [
              { kind: 'accepted' },
              { kind: 'started', atMs: 100 },
              { ...finishedEvent, status, exitCode } as TaskEvent,
            ];
            for (const event of events)
              await repo.updateRun(
                key(invokeId, instanceId),
                (run, mode) => applyTaskEvent(run, event, mode),
                120,
              );
          });
        const aggregate = async (invokeId: string) =>
          (await store.invocations.get('cn-hangzhou', invokeId))?.status;
        await burst('t-agg-one', 'mi-solo', 'Failed', 1);
        expect(await aggregate('t-agg-one')).toBe('Failed');
        await burst('t-agg-two', 'mi-x', 'Success', 0);
        // Not Success: the other row 0 is still Pending.
        expect(await aggregate('t-agg-two')).toBe('Pending');
        await burst('t-agg-two', 'mi-y', 'Success', 0);
        expect(await aggregate('t-agg-two')).toBe('Success');
      });

      it('reads the output tails of a page of runs at once, in order, each as far as its row counted', async () => {
        await store.invocations.create(invocation('t-tails'), pending(['mi-t1', 'mi-t2', 'mi-t3']));
        const append = (instanceId: string, offset: number, text: string) =>
          store.invocations.appendOutput(key('t-tails', instanceId), offset, Buffer.from(text), 100);
        await append('mi-t1', 0, 'one ');
        await append('mi-t1', 4, 'two ');
        await append('mi-t1', 8, 'three');
        await append('mi-t3', 0, 'only');
        const runs = await store.invocations.runs('t-tails');
        // Output that arrives after the rows were read belongs to a later answer.
        await append('mi-t3', 4, ' later');
        const shown = [...runs].reverse();
        const tails = await store.invocations.outputTails(shown, 7);
        expect(shown.map((run) => run.instanceId)).toEqual(['mi-t3', 'mi-t2', 'mi-t1']);
        expect(tails.map((tail) => tail.toString())).toEqual(['only', '', 'o three']);
        expect(await store.invocations.outputTails([], 7)).toEqual([]);
      });

      it('reads any range of stored output, one row, and every row of an invocation', async () => {
        await store.invocations.create(invocation('t-range', 'Period'), pending(['mi-r2', 'mi-r1']));
        const run0 = key('t-range', 'mi-r1');
        expect(await store.invocations.outputRange(run0, 0, 10)).toEqual(Buffer.alloc(0));
        let stored = 0;
        for (const part of ['abc', 'defgh', 'ij']) {
          stored = await store.invocations.appendOutput(run0, stored, Buffer.from(part), 1000);
        }
        const range = async (offset: number, max: number) =>
          (await store.invocations.outputRange(run0, offset, max)).toString();
        expect(await range(0, 100)).toBe('abcdefghij');
        expect(await range(2, 4)).toBe('cdef');
        expect(await range(3, 5)).toBe('defgh');
        expect(await range(7, 100)).toBe('hij');
        expect(await range(10, 100)).toBe('');
        expect(await range(50, 100)).toBe('');
        expect(await store.invocations.run(run0)).toMatchObject({ execution: 0, outputBytes: 10 });
        expect(await store.invocations.run(key('t-range', 'mi-r1', 3))).toBeUndefined();
        await store.invocations.updateRun(key('t-range', 'mi-r1', 1), () => ({ status: 'Running' }), clock, {
          create: true,
        });
        const rows = (runs: InvocationInstance[]) => runs.map((run) => `${run.instanceId}/${run.execution}`);
        expect(rows(await store.invocations.executions('t-range'))).toEqual([
          'mi-r1/0',
          'mi-r1/1',
          'mi-r2/0',
        ]);
        expect(rows(await store.invocations.executions('t-range', 'mi-r2'))).toEqual(['mi-r2/0']);
        expect(await store.invocations.executions('t-none')).toEqual([]);
      });

      it('keeps each run of a schedule as its own row, with its own output, and row 0 following it', async () => {
        await store.invocations.create(invocation('t-period', 'Period'), pending(['mi-a']));
        const follow = (standing: InvocationInstance, run: RunProgress) =>
          run.startedNow ? { status: 'Running' as const, repeats: standing.repeats + 1 } : undefined;
        // A run is created only for a Period task, only on request, and only beside an existing row 0.
        expect(
          await store.invocations.updateRun(key('t-period', 'mi-a', 1), () => ({}), clock),
        ).toBeUndefined();
        expect(
          await store.invocations.updateRun(key('t-period', 'mi-b', 1), () => ({}), clock, { create: true }),
        ).toBeUndefined();
        for (const execution of [1, 2]) {
          const started = await store.invocations.updateRun(
            key('t-period', 'mi-a', execution),
            () => ({ status: 'Running', startTimeMs: 100 * execution, scheduledAtMs: 99 * execution }),
            clock,
            { create: true, follow },
          );
          expect(started).toMatchObject({ execution, repeats: execution, status: 'Running' });
          await store.invocations.appendOutput(
            key('t-period', 'mi-a', execution),
            0,
            Buffer.from(`run ${execution}`),
            99,
          );
        }
        const [standing] = await store.invocations.runs('t-period');
        expect(standing).toMatchObject({ execution: 0, status: 'Running', repeats: 2 });
        expect((await store.invocations.get('cn-hangzhou', 't-period'))?.status).toBe('Running');
        const latest = await store.invocations.latestExecutions(['t-period', 't-output']);
        expect([...latest.keys()]).toEqual(['t-period/mi-a']);
        expect(latest.get('t-period/mi-a')).toMatchObject({ execution: 2, scheduledAtMs: 198 });
        expect((await store.invocations.outputTail(key('t-period', 'mi-a', 1), 99)).toString()).toBe('run 1');
        const page = { style: 'page', pageNumber: 1, pageSize: 50 } as const;
        const filter = { regionId: 'cn-hangzhou', invokeId: 't-period', tags: [] };
        const current = await store.invocations.listResults(filter, page);
        expect(current.items.map(({ run }) => run.execution)).toEqual([0]);
        const history = await store.invocations.listResults({ ...filter, includeHistory: true }, page);
        expect(history.items.map(({ run }) => run.execution)).toEqual([2, 1]);
        expect((await store.invocations.liveRuns('t-period', 'mi-a')).map((run) => run.execution)).toEqual([
          2, 1, 0,
        ]);
        expect(await store.invocations.activeCount('mi-a')).toBe(1);
      });

      it('pages results with their invocations, tags and totals, in either paging style, past the last page too', async () => {
        const regionId = 'results-region';
        const tags = [
          { key: 'team', value: 'b' },
          { key: 'app', value: 'a' },
        ];
        await store.invocations.create(
          { ...invocation('t-res-tagged'), regionId, tags },
          pending(['mi-r1', 'mi-r2']),
        );
        await store.invocations.create({ ...invocation('t-res-plain'), regionId }, pending(['mi-r1']));
        const filter = { regionId, tags: [] };
        const all = await store.invocations.listResults(filter, {
          style: 'page',
          pageNumber: 1,
          pageSize: 10,
        });
        expect(all.totalCount).toBe(3);
        expect(all.items.map(({ invocation, run }) => [invocation.id, run.instanceId])).toEqual([
          ['t-res-plain', 'mi-r1'],
          ['t-res-tagged', 'mi-r2'],
          ['t-res-tagged', 'mi-r1'],
        ]);
        const stored = await store.invocations.get(regionId, 't-res-tagged');
        expect(stored?.tags).toEqual([
          { key: 'app', value: 'a' },
          { key: 'team', value: 'b' },
        ]);
        expect(all.items[1]?.invocation).toEqual(stored);
        expect(all.items[0]?.invocation.tags).toEqual([]);
        const second = await store.invocations.listResults(filter, {
          style: 'page',
          pageNumber: 2,
          pageSize: 2,
        });
        expect([second.totalCount, second.items.length]).toEqual([3, 1]);
        const past = await store.invocations.listResults(filter, {
          style: 'page',
          pageNumber: 5,
          pageSize: 2,
        });
        expect([past.totalCount, past.items.length]).toEqual([3, 0]);
        const token = await store.invocations.listResults(filter, {
          style: 'token',
          maxResults: 2,
          afterSeq: undefined,
        });
        expect([token.totalCount, token.items.length, token.nextToken !== undefined]).toEqual([3, 2, true]);
        const beyond = await store.invocations.listResults(filter, {
          style: 'token',
          maxResults: 2,
          // Sequence numbers start at 1: nothing comes after the first.
          afterSeq: 1,
        });
        expect([beyond.totalCount, beyond.items.length, beyond.nextToken]).toEqual([3, 0, undefined]);
        const none = await store.invocations.listResults(
          { ...filter, instanceId: 'mi-none' },
          { style: 'page', pageNumber: 1, pageSize: 10 },
        );
        expect([none.totalCount, none.items]).toEqual([0, []]);
      });

      it('keeps sent files apart from commands: stored with their attributes, listed and delivered by kind, purged alike', async () => {
        const region = 'cn-files';
        const file = {
          name: 'app.conf',
          targetDir: '/etc/app',
          owner: 'app',
          group: 'staff',
          mode: '0640',
          overwrite: true,
          contentType: 'Base64' as const,
        };
        const sent = {
          ...invocation('f-contract'),
          regionId: region,
          commandId: '',
          commandName: file.name,
          createdAtMs: 5,
          tags: [{ key: 'k', value: 'v' }],
          file,
        };
        const created = await store.invocations.create(sent, pending(['mi-file']));
        expect(created?.file).toEqual(file);
        await store.invocations.create(
          { ...invocation('t-beside-file'), regionId: region },
          pending(['mi-file']),
        );
        expect(await store.invocations.get(region, 'f-contract')).toMatchObject({
          ...sent,
          seq: created?.seq,
        });
        const ids = async (kind?: 'command' | 'file') =>
          (
            await store.invocations.list(
              { regionId: region, kind, tags: [] },
              { style: 'page', pageNumber: 1, pageSize: 10 },
            )
          ).items.map((item) => item.id);
        expect(await ids()).toEqual(['t-beside-file']);
        expect(await ids('command')).toEqual(['t-beside-file']);
        expect(await ids('file')).toEqual(['f-contract']);
        const named = await store.invocations.list(
          {
            regionId: region,
            kind: 'file',
            commandName: 'app.conf',
            instanceId: 'mi-file',
            tags: [{ key: 'k', value: 'v' }],
          },
          { style: 'token', maxResults: 10, afterSeq: undefined },
        );
        expect(named.items.map((item) => item.id)).toEqual(['f-contract']);
        const results = async (kind?: 'command' | 'file') =>
          (
            await store.invocations.listResults(
              { regionId: region, kind, tags: [] },
              { style: 'page', pageNumber: 1, pageSize: 10 },
            )
          ).items.map((item) => item.invocation.id);
        expect(await results()).toEqual(['t-beside-file']);
        expect(await results('file')).toEqual(['f-contract']);
        // Delivery is the invocations': the file's attributes travel with its row.
        const waiting = await store.invocations.undelivered('mi-file');
        expect(waiting.map((item) => [item.invocation.id, item.invocation.file])).toEqual([
          ['f-contract', file],
          ['t-beside-file', undefined],
        ]);
        await store.invocations.updateRun(key('f-contract', 'mi-file'), () => ({ status: 'Success' }), 6);
        expect(await store.invocations.purgeEndedBefore(10, 100)).toBe(1);
        expect(await store.invocations.get(region, 'f-contract')).toBeUndefined();
        expect(await store.invocations.get(region, 't-beside-file')).toBeDefined();
      });

      it('finds the ended runs of invocations that deliver output once, moves their uploads on, and closes them', async () => {
        const deliveries = store.outputDeliveries;
        await store.invocations.create(
          { ...invocation('t-oss'), ossOutputDelivery: 'oss://b/p' },
          pending(['mi-o1', 'mi-o2', 'mi-o3']),
        );
        await store.invocations.create(
          { ...invocation('t-oss-period', 'Period'), ossOutputDelivery: 'oss://b' },
          pending(['mi-o1']),
        );
        expect(await deliveries.endedWithoutDelivery(100)).toEqual([]);
        // mi-o1 ends after starting, mi-o2 without having started (nothing to deliver), mi-o3 still runs.
        const end = (status: 'Success' | 'Failed') => () => ({ status, exitCode: 0, finishTimeMs: 120 });
        await store.invocations.updateRun(
          key('t-oss', 'mi-o1'),
          () => ({ status: 'Running', startTimeMs: 100 }),
          clock,
        );
        await store.invocations.updateRun(key('t-oss', 'mi-o1'), end('Success'), clock);
        await store.invocations.updateRun(key('t-oss', 'mi-o2'), () => ({ status: 'Cancelled' }), clock);
        await store.invocations.updateRun(
          key('t-oss', 'mi-o3'),
          () => ({ status: 'Running', startTimeMs: 100 }),
          clock,
        );
        // Run 1 of the schedule ended; row 0 (the task) is never delivered.
        await store.invocations.updateRun(
          key('t-oss-period', 'mi-o1', 1),
          () => ({ status: 'Success', exitCode: 0, startTimeMs: 100, finishTimeMs: 110 }),
          clock,
          { create: true },
        );
        expect(await deliveries.endedWithoutDelivery(100)).toEqual([
          { invokeId: 't-oss', instanceId: 'mi-o1', execution: 0, repeatMode: 'Once', target: 'oss://b/p' },
          {
            invokeId: 't-oss-period',
            instanceId: 'mi-o1',
            execution: 1,
            repeatMode: 'Period',
            target: 'oss://b',
          },
        ]);
        const row = (at: ReturnType<typeof key>, objectKey: string) => ({
          ...at,
          bucket: 'b',
          objectKey,
          status: 'Pending' as const,
          attempts: 0,
          nextAttemptAtMs: 50,
          errorCode: '',
          errorInfo: '',
        });
        await deliveries.add(
          [
            row(key('t-oss', 'mi-o1'), 'p/t-oss/mi-o1.log'),
            row(key('t-oss-period', 'mi-o1', 1), 't-oss-period/mi-o1/1.log'),
          ],
          clock,
        );
        // A row already there is kept as it is.
        await deliveries.add([row(key('t-oss', 'mi-o1'), 'other')], clock);
        expect(await deliveries.endedWithoutDelivery(100)).toEqual([]);
        // mi-o3 still runs: the invocation stays open.
        expect(await deliveries.closeDelivered()).toBe(0);
        expect(await deliveries.due(49, 10)).toEqual([]);
        expect((await deliveries.due(50, 10)).map((due) => due.objectKey).sort()).toEqual([
          'p/t-oss/mi-o1.log',
          't-oss-period/mi-o1/1.log',
        ]);
        const claim = {
          status: 'Uploading' as const,
          attempts: 1,
          nextAttemptAtMs: 1000,
          errorCode: '',
          errorInfo: '',
        };
        expect(await deliveries.update(key('t-oss', 'mi-o1'), 'Pending', claim, clock)).toBe(true);
        expect(await deliveries.update(key('t-oss', 'mi-o1'), 'Pending', claim, clock)).toBe(false);
        expect((await deliveries.due(999, 10)).map((due) => due.objectKey)).toEqual([
          't-oss-period/mi-o1/1.log',
        ]);
        // An upload left Uploading past its lease (its node died) is due again.
        expect((await deliveries.due(1000, 10)).map((due) => due.objectKey).sort()).toEqual([
          'p/t-oss/mi-o1.log',
          't-oss-period/mi-o1/1.log',
        ]);
        const finished = { ...claim, status: 'Finished' as const, nextAttemptAtMs: 0 };
        expect(await deliveries.update(key('t-oss', 'mi-o1'), 'Uploading', finished, clock)).toBe(true);
        const read = await deliveries.read([key('t-oss', 'mi-o1'), key('t-oss', 'mi-o3')]);
        expect([...read.keys()]).toEqual(['t-oss/mi-o1/0']);
        expect(read.get('t-oss/mi-o1/0')).toMatchObject({
          status: 'Finished',
          attempts: 1,
          objectKey: 'p/t-oss/mi-o1.log',
        });
        // The last run ends: found, given its row, and the ended invocation closes.
        await store.invocations.updateRun(key('t-oss', 'mi-o3'), end('Failed'), clock);
        expect((await deliveries.endedWithoutDelivery(100)).map((run) => run.instanceId)).toEqual(['mi-o3']);
        await deliveries.add([row(key('t-oss', 'mi-o3'), 'p/t-oss/mi-o3.log')], clock);
        expect(await deliveries.closeDelivered()).toBe(1);
        expect(await deliveries.closeDelivered()).toBe(0);
        expect((await store.invocations.get('cn-hangzhou', 't-oss'))?.ossOutputDelivery).toBe('oss://b/p');
        expect((await store.invocations.get('cn-hangzhou', 't-output'))?.ossOutputDelivery).toBeUndefined();
      });

      it('purges ended invocations past the retention with their rows, output and tags, and nothing else', async () => {
        const old = { ...invocation('t-old'), createdAtMs: 5, tags: [{ key: 'k', value: 'v' }] };
        await store.invocations.create({ ...old, status: 'Success' }, pending(['mi-p']));
        await store.invocations.appendOutput(key('t-old', 'mi-p'), 0, Buffer.from('x'), 10);
        await store.invocations.create({ ...invocation('t-old-running'), createdAtMs: 5 }, pending(['mi-p']));
        await store.invocations.create(
          { ...invocation('t-new'), createdAtMs: 50, status: 'Success' },
          pending(['mi-p']),
        );
        expect(await store.invocations.purgeEndedBefore(10, 100)).toBe(1);
        expect(await store.invocations.get('cn-hangzhou', 't-old')).toBeUndefined();
        expect(await store.invocations.runs('t-old')).toEqual([]);
        expect((await store.invocations.outputTail(key('t-old', 'mi-p'), 10)).length).toBe(0);
        expect(await store.invocations.get('cn-hangzhou', 't-old-running')).toBeDefined();
        expect(await store.invocations.get('cn-hangzhou', 't-new')).toBeDefined();
        expect(await store.invocations.purgeEndedBefore(10, 100)).toBe(0);
      });

      it('arms reboot tasks once per boot and tells which schedules an agent should hold', async () => {
        const waiting: InitialRun[] = [
          { instanceId: 'mi-boot', status: 'Scheduled', errorCode: '', errorInfo: '' },
        ];
        await store.invocations.create(invocation('t-next', 'NextRebootOnly'), waiting);
        await store.invocations.create(invocation('t-every', 'EveryReboot'), waiting);
        await store.invocations.create(invocation('t-sched', 'Period'), pending(['mi-boot']));
        expect(await store.invocations.undelivered('mi-boot')).toHaveLength(1);
        expect(await store.invocations.armForBoot('mi-boot', 500)).toBe(2);
        const due = await store.invocations.undelivered('mi-boot');
        expect(due.map(({ invocation: i, run }) => `${i.id}#${run.execution}`).sort()).toEqual([
          't-every#1',
          't-next#0',
          't-sched#0',
        ]);
        expect((await store.invocations.get('cn-hangzhou', 't-next'))?.status).toBe('Pending');
        // The NextRebootOnly task waits for its delivery from the boot on, not from its creation.
        expect(await store.invocations.overdue(400)).not.toContainEqual(key('t-next', 'mi-boot'));
        expect(await store.invocations.armForBoot('mi-boot', 600)).toBe(1);
        expect((await store.invocations.liveRuns('t-every', 'mi-boot')).map((r) => r.execution)).toEqual([
          2, 1, 0,
        ]);
        expect(await store.invocations.activeSchedules('mi-boot')).toEqual([
          { invokeId: 't-sched', delivered: false },
        ]);
        await store.invocations.updateRun(
          key('t-sched', 'mi-boot'),
          () => ({ delivered: true, status: 'Scheduled' }),
          700,
        );
        expect(await store.invocations.activeSchedules('mi-boot')).toEqual([
          { invokeId: 't-sched', delivered: true },
        ]);
        await store.invocations.redeliver('mi-boot', ['t-sched'], 800);
        expect(await store.invocations.activeSchedules('mi-boot')).toEqual([
          { invokeId: 't-sched', delivered: false },
        ]);
        expect((await store.invocations.runs('t-sched'))[0]).toMatchObject({
          status: 'Pending',
          delivered: false,
        });
      });

      it('lists the runs an agent must hold, and the started runs past Timeout plus a grace', async () => {
        const at = (invokeId: string, execution = 0) => key(invokeId, 'mi-held', execution);
        const set = (runKey: ReturnType<typeof at>, patch: Record<string, unknown>) =>
          store.invocations.updateRun(runKey, () => patch, 100);
        await store.invocations.create(invocation('t-held-waiting'), pending(['mi-held']));
        await store.invocations.create(invocation('t-held-accepted'), pending(['mi-held']));
        await store.invocations.create(invocation('t-held-running'), pending(['mi-held', 'mi-other']));
        await store.invocations.create(invocation('t-held-done'), pending(['mi-held']));
        await store.invocations.create(invocation('t-held-period', 'Period'), pending(['mi-held']));
        await set(at('t-held-accepted'), { delivered: true });
        await set(at('t-held-running'), { delivered: true, status: 'Running', startTimeMs: 1_000 });
        await set(key('t-held-running', 'mi-other'), {
          delivered: true,
          status: 'Running',
          startTimeMs: 50_000,
        });
        await set(at('t-held-done'), { delivered: true, status: 'Success' });
        // Row 0 of a schedule stands for the schedule; its run 1 is a run.
        await set(at('t-held-period'), { delivered: true, status: 'Running', startTimeMs: 1_000 });
        await store.invocations.updateRun(
          at('t-held-period', 1),
          () => ({ status: 'Running', startTimeMs: 1_000 }),
          100,
          {
            create: true,
          },
        );
        const delivered = await store.invocations.deliveredRuns('mi-held');
        expect(delivered.map((run) => `${run.invokeId}#${run.execution}`).sort()).toEqual([
          't-held-accepted#0',
          't-held-period#1',
          't-held-running#0',
        ]);
        expect(delivered[0]?.instanceId).toBe('mi-held');
        // Timeout 60 s from a start at 1 000 ms, plus a 5 s grace: due after 66 000 ms.
        // Other tests of this store leave started runs of their own: only this test's are compared.
        const mine = async (nowMs: number) =>
          (await store.invocations.pastDeadline(nowMs, 5_000)).filter((run) =>
            run.invokeId.startsWith('t-held-'),
          );
        expect(await mine(66_000)).toEqual([]);
        const due = await mine(66_001);
        expect(due.map((run) => `${run.invokeId}/${run.instanceId}#${run.execution}`).sort()).toEqual([
          't-held-period/mi-held#1',
          't-held-running/mi-held#0',
        ]);
      });
    });

    describe('commands', () => {
      it('inserts and reads back a command with its tags, scoped by region', async () => {
        const command = sampleCommand({
          name: 'full',
          description: 'all fields',
          enableParameter: true,
          parameterNames: ['a', 'b'],
          workingDir: '/w',
          launcher: 'sh',
          resourceGroupId: 'rg',
          clientToken: 'ct',
          tags: [
            { key: 'b', value: '2' },
            { key: 'a', value: '' },
          ],
        });
        const stored = await store.commands.insert(command);
        expect(stored.seq).toBeGreaterThan(0);
        const read = await store.commands.get('cn-hangzhou', command.id);
        expect(read).toEqual({
          ...command,
          seq: stored.seq,
          tags: [
            { key: 'a', value: '' },
            { key: 'b', value: '2' },
          ],
        });
        expect(await store.commands.get('cn-shanghai', command.id)).toBeUndefined();
      });

      it('filters by id, name, type, resource group, description (patterns, SQL wildcards literal) and every tag', async () => {
        const region = 'filter-region';
        const one = await store.commands.insert(
          sampleCommand({
            regionId: region,
            name: 'x',
            description: 'Backup 100% of DATA_dir',
            tags: [
              { key: 'env', value: 'prod' },
              { key: 'team', value: 'ops' },
            ],
          }),
        );
        const two = await store.commands.insert(
          sampleCommand({
            regionId: region,
            name: 'y',
            type: 'RunBatScript',
            resourceGroupId: 'rg-2',
            tags: [{ key: 'env', value: 'dev' }],
          }),
        );
        const ids = async (filter: Record<string, unknown>) =>
          (
            await store.commands.list(
              { regionId: region, tags: [], ...filter },
              { style: 'page', pageNumber: 1, pageSize: 50 },
            )
          ).items.map((c) => c.id);
        expect(await ids({})).toEqual([two.id, one.id]);
        expect(await ids({ commandId: one.id })).toEqual([one.id]);
        expect(await ids({ name: { exact: 'y' } })).toEqual([two.id]);
        expect(await ids({ type: 'RunBatScript' })).toEqual([two.id]);
        expect(await ids({ resourceGroupId: 'rg-2' })).toEqual([two.id]);
        const described = (value: string) => ids({ description: textPattern(value, 'always') });
        expect(await described('*data_*')).toEqual([one.id]);
        expect(await described('*100%*')).toEqual([one.id]);
        expect(await described('*_*')).toEqual([one.id]);
        expect(await described('backup 100% of data_dir')).toEqual([one.id]);
        expect(await described('data_')).toEqual([]);
        expect(await described('*nothing*')).toEqual([]);
        expect(await ids({ tags: [{ key: 'env', value: undefined }] })).toEqual([two.id, one.id]);
        expect(
          await ids({
            tags: [
              { key: 'env', value: 'prod' },
              { key: 'team', value: 'ops' },
            ],
          }),
        ).toEqual([one.id]);
        expect(
          await ids({
            tags: [
              { key: 'env', value: 'prod' },
              { key: 'team', value: 'dev' },
            ],
          }),
        ).toEqual([]);
      });

      it('matches name patterns as the domain rule says, on both stores', async () => {
        const region = 'pattern-region';
        const names = [
          'deploy',
          'Deploy-App',
          'app-deploy',
          'redeploy-app',
          'deploy_1',
          'deployX1',
          'Été',
          'été',
        ];
        const byName = new Map<string, string>();
        for (const name of names) {
          byName.set((await store.commands.insert(sampleCommand({ regionId: region, name }))).id, name);
        }
        const values = [
          'deploy',
          'deploy*',
          '*deploy',
          '*deploy*',
          'DEPLOY*',
          'deploy_*',
          '*-*',
          '*',
          'été',
          'ÉTÉ*',
          '*%*',
        ];
        for (const value of values) {
          const pattern = textPattern(value, 'withWildcards');
          const found = (
            await store.commands.list(
              { regionId: region, name: pattern, tags: [] },
              { style: 'page', pageNumber: 1, pageSize: 50 },
            )
          ).items.map((command) => byName.get(command.id));
          const expected = names.filter((name) => matchesPattern(name, pattern));
          expect([...found].sort(), value).toEqual([...expected].sort());
        }
      });
      it('pages by offset and by keyset, newest first, and a keyset survives inserts between pages', async () => {
        const region = 'paging-region';
        const made: string[] = [];
        for (let i = 0; i < 5; i++)
          made.unshift((await store.commands.insert(sampleCommand({ regionId: region }))).id);
        const filter = { regionId: region, tags: [] };

        const page2 = await store.commands.list(filter, { style: 'page', pageNumber: 2, pageSize: 2 });
        expect(page2.items.map((c) => c.id)).toEqual(made.slice(2, 4));
        expect(page2.totalCount).toBe(5);
        expect(page2.nextToken).toBeUndefined();

        const first = await store.commands.list(filter, {
          style: 'token',
          maxResults: 2,
          afterSeq: undefined,
        });
        expect(first.items.map((c) => c.id)).toEqual(made.slice(0, 2));
        await store.commands.insert(sampleCommand({ regionId: region }));
        const afterSeq = first.items.at(-1)?.seq;
        const second = await store.commands.list(filter, { style: 'token', maxResults: 2, afterSeq });
        expect(second.items.map((c) => c.id)).toEqual(made.slice(2, 4));
        const last = await store.commands.list(filter, {
          style: 'token',
          maxResults: 2,
          afterSeq: second.items.at(-1)?.seq,
        });
        expect(last.items.map((c) => c.id)).toEqual(made.slice(4));
        expect(last.nextToken).toBeUndefined();
        expect(second.nextToken).toBeDefined();
      });

      it('updates only the given fields and bumps the version only for a new script', async () => {
        const command = await store.commands.insert(sampleCommand({ name: 'before', timeoutSeconds: 60 }));
        expect(await store.commands.update('cn-hangzhou', command.id, { name: 'after' })).toBe(true);
        let read = await store.commands.get('cn-hangzhou', command.id);
        expect(read).toMatchObject({ name: 'after', timeoutSeconds: 60, version: 1 });
        await store.commands.update('cn-hangzhou', command.id, {
          contentBase64: command.contentBase64,
          timeoutSeconds: 99,
        });
        read = await store.commands.get('cn-hangzhou', command.id);
        expect(read).toMatchObject({ timeoutSeconds: 99, version: 1 });
        await store.commands.update('cn-hangzhou', command.id, {
          contentBase64: 'bmV3',
          parameterNames: ['p'],
        });
        read = await store.commands.get('cn-hangzhou', command.id);
        expect(read).toMatchObject({ contentBase64: 'bmV3', parameterNames: ['p'], version: 2 });
        expect(await store.commands.update('cn-shanghai', command.id, { name: 'x' })).toBe(false);
      });

      it('deletes a command and its tags', async () => {
        const command = await store.commands.insert(
          sampleCommand({ tags: [{ key: 'gone', value: 'soon' }] }),
        );
        expect(await store.commands.delete('cn-hangzhou', command.id)).toBe(true);
        expect(await store.commands.get('cn-hangzhou', command.id)).toBeUndefined();
        expect(await store.commands.delete('cn-hangzhou', command.id)).toBe(false);
        const tagged = await store.commands.list(
          { regionId: 'cn-hangzhou', tags: [{ key: 'gone', value: undefined }] },
          { style: 'page', pageNumber: 1, pageSize: 10 },
        );
        expect(tagged.totalCount).toBe(0);
      });
    });

    describe('file uploads', () => {
      const sha = 'b'.repeat(64);
      const upload = (id: string, owner: string, sizeBytes = 10): FileUpload => ({
        id,
        regionId: 'cn-hangzhou',
        owner,
        sizeBytes,
        sha256: sha,
        receivedBytes: 0,
        state: 'Uploading',
        invokeId: '',
        createdAtMs: clock++,
      });
      const readAll = async (id: string, offset: number) => {
        const chunks: Buffer[] = [];
        for await (const chunk of store.fileUploads.read(id, offset)) chunks.push(chunk);
        return Buffer.concat(chunks).toString();
      };

      it('appends parts only at the received offset and reads them back from any byte', async () => {
        expect(await store.fileUploads.create(upload('up-append', 'k-append'), 10)).toBe(true);
        const first = await store.fileUploads.append('up-append', 0, Buffer.from('abcd'));
        expect(first).toMatchObject({ appended: true, upload: { receivedBytes: 4, state: 'Uploading' } });
        const stale = await store.fileUploads.append('up-append', 0, Buffer.from('abcd'));
        expect(stale).toMatchObject({ appended: false, upload: { receivedBytes: 4 } });
        expect(await store.fileUploads.append('up-append', 5, Buffer.from('x'))).toMatchObject({
          appended: false,
        });
        await store.fileUploads.append('up-append', 4, Buffer.from('efg'));
        await store.fileUploads.append('up-append', 7, Buffer.from('hij'));
        expect(await readAll('up-append', 0)).toBe('abcdefghij');
        expect(await readAll('up-append', 2)).toBe('cdefghij');
        expect(await readAll('up-append', 4)).toBe('efghij');
        expect(await readAll('up-append', 9)).toBe('j');
        expect(await store.fileUploads.append('up-missing', 0, Buffer.from('a'))).toBeUndefined();
      });

      it('stores one of two parts racing for the same offset', async () => {
        await store.fileUploads.create(upload('up-race', 'k-race'), 10);
        const results = await Promise.all(
          ['aaaa', 'bbbb'].map((text) => store.fileUploads.append('up-race', 0, Buffer.from(text))),
        );
        expect(results.filter((result) => result?.appended)).toHaveLength(1);
        expect((await readAll('up-race', 0)).length).toBe(4);
      });

      it('completes, restarts, and binds a complete upload to one invocation', async () => {
        await store.fileUploads.create(upload('up-life', 'k-life', 3), 10);
        await store.fileUploads.append('up-life', 0, Buffer.from('ab'));
        await store.fileUploads.complete('up-life');
        expect(await store.fileUploads.get('up-life')).toMatchObject({ state: 'Uploading' });
        expect(await store.fileUploads.use('up-life', 't-early')).toBe(false);
        await store.fileUploads.restart('up-life');
        expect(await store.fileUploads.get('up-life')).toMatchObject({ receivedBytes: 0 });
        expect(await readAll('up-life', 0)).toBe('');
        await store.fileUploads.append('up-life', 0, Buffer.from('xyz'));
        await store.fileUploads.complete('up-life');
        expect(await store.fileUploads.get('up-life')).toMatchObject({ state: 'Complete', receivedBytes: 3 });
        expect(await store.fileUploads.append('up-life', 3, Buffer.from('!'))).toMatchObject({
          appended: false,
        });
        expect(await store.fileUploads.use('up-life', 't-one')).toBe(true);
        expect(await store.fileUploads.use('up-life', 't-two')).toBe(false);
        expect(await store.fileUploads.ofInvocation('t-one')).toMatchObject({ id: 'up-life' });
        await store.fileUploads.release('up-life', 't-two');
        expect(await store.fileUploads.ofInvocation('t-one')).toMatchObject({ id: 'up-life' });
        await store.fileUploads.release('up-life', 't-one');
        expect(await store.fileUploads.ofInvocation('t-one')).toBeUndefined();
      });

      it('bounds the unused uploads of one key, racing creations included', async () => {
        const created = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            store.fileUploads.create(upload(`up-quota-${i}`, 'k-quota'), 4),
          ),
        );
        expect(created.filter(Boolean)).toHaveLength(4);
        expect(await store.fileUploads.create(upload('up-quota-other', 'k-other'), 4)).toBe(true);
      });

      it('purges expired unused uploads and those of ended or long-gone invocations', async () => {
        for (const id of ['up-p-unused', 'up-p-live', 'up-p-ended', 'up-p-gone']) {
          await store.fileUploads.create(upload(id, 'k-purge', 1), 10);
          await store.fileUploads.append(id, 0, Buffer.from('z'));
          await store.fileUploads.complete(id);
        }
        const base = invocationRecord({
          id: '',
          commandId: '',
          commandName: 'file',
          contentBase64: '',
          createdAtMs: clock++,
        });
        const run = [{ instanceId: 'mi-purge', status: 'Pending' as const, errorCode: '', errorInfo: '' }];
        for (const [upload, invoke] of [
          ['up-p-live', 't-p-live'],
          ['up-p-ended', 't-p-ended'],
          ['up-p-gone', 't-p-gone'],
        ] as const) {
          if (invoke !== 't-p-gone') await store.invocations.create({ ...base, id: invoke }, run);
          expect(await store.fileUploads.use(upload, invoke)).toBe(true);
        }
        await store.invocations.updateRun(
          { invokeId: 't-p-ended', instanceId: 'mi-purge', execution: 0 },
          () => ({ status: 'Failed' }),
          clock,
        );
        expect(await store.fileUploads.purge(0, 100)).toBe(1);
        expect(await store.fileUploads.get('up-p-ended')).toBeUndefined();
        expect(await store.fileUploads.get('up-p-gone')).toBeDefined();
        // The earlier tests' unused uploads go too.
        expect(await store.fileUploads.purge(clock + 1, 100)).toBeGreaterThanOrEqual(2);
        expect(await store.fileUploads.get('up-p-live')).toMatchObject({ invokeId: 't-p-live' });
        expect(await store.fileUploads.get('up-p-unused')).toBeUndefined();
        expect(await readAll('up-p-gone', 0)).toBe('');
      });
    });

    describe('terminal sessions', () => {
      const limits = { perInstance: 2, total: 3 };
      const session = (
        id: string,
        instanceId: string,
        fields: Partial<TerminalSession> = {},
      ): TerminalSession => ({
        id,
        regionId: 'cn-hangzhou',
        instanceId,
        commandLine: '',
        portNumber: 0,
        targetServer: '',
        username: 'root',
        connectionType: '',
        passwordName: '',
        encryptionOptions: '',
        accessKeyId: 'LTAIkey',
        identityType: 'Account',
        recordInput: false,
        status: 'Pending',
        nodeId: '',
        clientIp: '',
        createdAtMs: clock++,
        tokenExpiresAtMs: 10_000,
        startedAtMs: 0,
        endedAtMs: 0,
        closedReason: '',
        failedDetail: '',
        exitCode: null,
        recordedBytes: 0,
        droppedBytes: 0,
        ...fields,
      });

      it('creates within the limits per instance and in all, and claims a token once before its expiry', async () => {
        expect(await store.terminalSessions.create(session('s-1', 'mi-a'), 'h1', limits)).toEqual({
          created: true,
        });
        expect(await store.terminalSessions.create(session('s-2', 'mi-a'), 'h2', limits)).toEqual({
          created: true,
        });
        expect(await store.terminalSessions.create(session('s-3', 'mi-a'), 'h3', limits)).toEqual({
          created: false,
          live: { instance: 2, total: 2 },
        });
        expect(await store.terminalSessions.create(session('s-4', 'mi-b'), 'h4', limits)).toEqual({
          created: true,
        });
        expect((await store.terminalSessions.create(session('s-5', 'mi-c'), 'h5', limits)).created).toBe(
          false,
        );
        // Wrong hash, then past the expiry, then right: once.
        expect(
          await store.terminalSessions.claim('s-1', 'nope', 'node-a', '10.0.0.9', 1_000),
        ).toBeUndefined();
        expect(await store.terminalSessions.claim('s-1', 'h1', 'node-a', '10.0.0.9', 10_000)).toBeUndefined();
        expect(await store.terminalSessions.claim('s-1', 'h1', 'node-a', '10.0.0.9', 1_000)).toMatchObject({
          status: 'Connecting',
          nodeId: 'node-a',
          clientIp: '10.0.0.9',
        });
        expect(await store.terminalSessions.claim('s-1', 'h1', 'node-a', '10.0.0.9', 1_000)).toBeUndefined();
        await store.terminalSessions.connected('s-1', 2_000);
        expect(await store.terminalSessions.get('s-1')).toMatchObject({
          status: 'Connected',
          startedAtMs: 2_000,
        });
      });

      it('ends once, expires unused tokens, ends the sessions of a node', async () => {
        expect(await store.terminalSessions.end('s-1', { reason: 'ShellExited', exitCode: 3 }, 3_000)).toBe(
          true,
        );
        expect(await store.terminalSessions.end('s-1', { reason: 'EndedByApi' }, 4_000)).toBe(false);
        expect(await store.terminalSessions.get('s-1')).toMatchObject({
          status: 'Closed',
          closedReason: 'ShellExited',
          exitCode: 3,
          endedAtMs: 3_000,
        });
        expect(await store.terminalSessions.expireTokens(10_000)).toEqual(
          expect.arrayContaining(['s-2', 's-4']),
        );
        expect(await store.terminalSessions.get('s-2')).toMatchObject({
          status: 'Failed',
          closedReason: 'TokenExpired',
        });
        await store.terminalSessions.create(
          session('s-6', 'mi-d', { tokenExpiresAtMs: 50_000 }),
          'h6',
          limits,
        );
        await store.terminalSessions.claim('s-6', 'h6', 'node-b', '', 20_000);
        expect(
          await store.terminalSessions.endOnNode('node-b', { reason: 'ServerShutdown' }, 21_000),
        ).toEqual(['s-6']);
      });

      it('keeps a recording per direction in order, counts dropped bytes, reads pages across chunks', async () => {
        await store.terminalSessions.record('s-1', 'o', 0, Buffer.from('hello '), 0);
        await store.terminalSessions.record('s-1', 'o', 6, Buffer.from('world'), 0);
        await store.terminalSessions.record('s-1', 'i', 0, Buffer.from('ls\r'), 0);
        await store.terminalSessions.record('s-1', 'o', 11, Buffer.alloc(0), 7);
        expect((await store.terminalSessions.readRecording('s-1', 'o', 0, 100)).toString()).toBe(
          'hello world',
        );
        expect((await store.terminalSessions.readRecording('s-1', 'o', 3, 5)).toString()).toBe('lo wo');
        expect((await store.terminalSessions.readRecording('s-1', 'o', 11, 5)).toString()).toBe('');
        expect((await store.terminalSessions.readRecording('s-1', 'i', 0, 100)).toString()).toBe('ls\r');
        expect(await store.terminalSessions.get('s-1')).toMatchObject({ recordedBytes: 14, droppedBytes: 7 });
      });

      it('lists newest first with NextToken, by instance; purges ended sessions with their recordings', async () => {
        const first = await store.terminalSessions.list(
          'cn-hangzhou',
          {},
          { style: 'token', maxResults: 2, afterSeq: undefined },
        );
        expect(first.items.map((item) => item.id)).toEqual(['s-6', 's-4']);
        expect(first.nextToken).toBeDefined();
        const byInstance = await store.terminalSessions.list(
          'cn-hangzhou',
          { instanceId: 'mi-a' },
          { style: 'token', maxResults: 10, afterSeq: undefined },
        );
        expect(byInstance.items.map((item) => item.id)).toEqual(['s-2', 's-1']);
        expect(await store.terminalSessions.purge(5_000, 100)).toBe(1);
        expect(await store.terminalSessions.get('s-1')).toBeUndefined();
        expect((await store.terminalSessions.readRecording('s-1', 'o', 0, 100)).length).toBe(0);
      });
    });
  });
}
