import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeHarnesses } from '../../test/helpers/backends.js';
import type { AuditEvent } from '../domain/audit.js';
import { openStore } from './open-store.js';
import type { Store } from './store.js';

const harnesses = storeHarnesses('openassist-audit-store-');

function sample(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    eventId: randomUUID(),
    timeMs: 1_700_000_000_000,
    eventName: 'InvokeCommand',
    eventSource: 'api',
    serviceName: 'ecs',
    apiVersion: '2014-05-26',
    eventRW: 'Write',
    requestId: randomUUID(),
    regionId: 'cn-hangzhou',
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    accessKeyId: 'LTAIroot',
    identityType: 'root-account',
    principalId: 'root',
    userName: 'root',
    resourceIds: ['c-1', 'mi-1'],
    requestParameters: { CommandId: 'c-1', 'InstanceId.1': 'mi-1' },
    errorCode: '',
    errorMessage: '',
    ...overrides,
  };
}

for (const harness of harnesses) {
  const available = await harness.available();
  describe.skipIf(!available)(`audit events store contract on ${harness.name}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    beforeAll(async () => {
      const fresh = await harness.fresh();
      dispose = fresh.dispose;
      store = await openStore(fresh.url);
    });
    afterAll(async () => {
      await store.close();
      await dispose();
    });

    it('appends a batch and reads it back newest first, every field intact', async () => {
      const first = sample({ timeMs: 1_700_000_000_000 });
      const second = sample({ timeMs: 1_700_000_001_000, eventName: 'DescribeInstances', eventRW: 'Read' });
      await store.auditEvents.append([first, second]);
      const page = await store.auditEvents.lookup({}, 10, undefined);
      expect(page.events).toEqual([second, first]);
      expect(page.more).toBe(false);
    });

    it('keeps text an array literal would have to escape, as sent', async () => {
      const quoted = 'a "b" \\c {d,e} \n ünï ';
      const event = sample({
        timeMs: 1_700_000_002_000,
        eventName: quoted,
        accessKeyId: 'NULL',
        userAgent: '',
        resourceIds: ['{x}', 'y,z'],
        requestParameters: { Name: quoted, Empty: '' },
      });
      await store.auditEvents.append([event, sample({ timeMs: 1_700_000_002_001 })]);
      const page = await store.auditEvents.lookup({ eventName: quoted }, 10, undefined);
      expect(page.events).toEqual([event]);
      expect((await store.auditEvents.lookup({ resourceId: 'y,z' }, 10, undefined)).events).toEqual([event]);
    });

    it('filters by name, key, read/write, resource and time, all at once', async () => {
      const base = 1_710_000_000_000;
      const wanted = sample({ timeMs: base + 5_000, accessKeyId: 'LTAIother', resourceIds: ['mi-wanted'] });
      await store.auditEvents.append([
        wanted,
        sample({ timeMs: base + 5_000, accessKeyId: 'LTAIother', resourceIds: ['mi-else'] }),
        sample({ timeMs: base + 5_000, resourceIds: ['mi-wanted'] }),
        sample({ timeMs: base + 50_000, accessKeyId: 'LTAIother', resourceIds: ['mi-wanted'] }),
      ]);
      const filter = {
        startMs: base,
        endMs: base + 10_000,
        eventName: 'InvokeCommand',
        accessKeyId: 'LTAIother',
        eventRW: 'Write' as const,
        resourceId: 'mi-wanted',
      };
      expect((await store.auditEvents.lookup(filter, 10, undefined)).events).toEqual([wanted]);
      expect((await store.auditEvents.lookup({ ...filter, eventRW: 'Read' }, 10, undefined)).events).toEqual(
        [],
      );
    });

    it('pages with a cursor without repeats or gaps', async () => {
      const key = `LTAIpage${randomUUID().slice(0, 8)}`;
      const events = Array.from({ length: 7 }, (_, i) =>
        sample({ accessKeyId: key, timeMs: 1_720_000_000_000 + i }),
      );
      await store.auditEvents.append(events);
      const seen: string[] = [];
      let after: number | undefined;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await store.auditEvents.lookup({ accessKeyId: key }, 3, after);
        seen.push(...page.events.map((event) => event.eventId));
        if (!page.more) break;
        after = page.lastSeq;
      }
      expect(seen).toEqual(events.map((event) => event.eventId).reverse());
    });

    it('stores a batch larger than one statement holds', async () => {
      const key = `LTAIbig${randomUUID().slice(0, 8)}`;
      const ids = Array.from({ length: 60 }, (_, i) => `mi-${i}`);
      const events = Array.from({ length: 700 }, () => sample({ accessKeyId: key, resourceIds: ids }));
      await store.auditEvents.append(events);
      const page = await store.auditEvents.lookup({ accessKeyId: key, resourceId: 'mi-59' }, 50, undefined);
      expect(page.events).toHaveLength(50);
      expect(page.more).toBe(true);
    });

    it('stores a batch of records too large for one statement, every one whole', async () => {
      const key = `LTAIlarge${randomUUID().slice(0, 8)}`;
      // 20 records of about 600 KB: past the 8 MiB of record text a PostgreSQL statement carries.
      const events = Array.from({ length: 20 }, (_, i) =>
        sample({
          accessKeyId: key,
          timeMs: 1_730_000_000_000 + i,
          requestParameters: { Tags: `${i}`.repeat(600_000) },
        }),
      );
      await store.auditEvents.append(events);
      const page = await store.auditEvents.lookup({ accessKeyId: key }, 50, undefined);
      expect(page.events).toEqual([...events].reverse());
    });

    it('purges records older than the cutoff with their resources', async () => {
      const old = sample({ timeMs: 1_000, resourceIds: ['mi-old'] });
      const kept = sample({ timeMs: 2_000, resourceIds: ['mi-old'] });
      await store.auditEvents.append([old, kept]);
      expect(await store.auditEvents.purgeBefore(1_500)).toBe(1);
      const page = await store.auditEvents.lookup({ resourceId: 'mi-old' }, 10, undefined);
      expect(page.events.map((event) => event.eventId)).toEqual([kept.eventId]);
    });

    it('purges more records than one sweep statement deletes', async () => {
      const key = `LTAIold${randomUUID().slice(0, 8)}`;
      await store.auditEvents.append(
        Array.from({ length: 5_300 }, () => sample({ accessKeyId: key, timeMs: 500 })),
      );
      expect(await store.auditEvents.purgeBefore(600)).toBe(5_300);
      expect((await store.auditEvents.lookup({ accessKeyId: key }, 10, undefined)).events).toEqual([]);
    });

    it('matches a resource id whole, its LIKE wildcards taken literally', async () => {
      const exact = sample({ resourceIds: ['wild_card%id', 'mi-exact'] });
      await store.auditEvents.append([exact, sample({ resourceIds: ['wildXcardYid', 'mi-exact-longer'] })]);
      const ids = async (resourceId: string) =>
        (await store.auditEvents.lookup({ resourceId }, 10, undefined)).events.map((event) => event.eventId);
      expect(await ids('wild_card%id')).toEqual([exact.eventId]);
      expect(await ids('mi-exact')).toEqual([exact.eventId]);
      expect(await ids('mi-exac')).toEqual([]);
      expect(await ids('%')).toEqual([]);
    });
  });
}
