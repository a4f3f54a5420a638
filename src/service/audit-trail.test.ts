import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditEvent } from '../domain/audit.js';
import { openStore } from '../store/open-store.js';
import type { AuditEventRepo, Store } from '../store/store.js';
import { AuditTrail } from './audit-trail.js';

const logger = pino({ level: 'silent' });
const digestKey = Buffer.alloc(32, 7);

function sample(name = 'InvokeCommand'): AuditEvent {
  return {
    eventId: randomUUID(),
    timeMs: Date.now(),
    eventName: name,
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
    resourceIds: ['mi-1'],
    requestParameters: {},
    errorCode: '',
    errorMessage: '',
  };
}

/** The real repo, counting its INSERT batches. */
function counting(repo: AuditEventRepo): AuditEventRepo & { batches: number[] } {
  const batches: number[] = [];
  return {
    batches,
    append: async (events) => {
      batches.push(events.length);
      await repo.append(events);
    },
    lookup: (...args) => repo.lookup(...args),
    purgeBefore: (ms) => repo.purgeBefore(ms),
  };
}

describe('AuditTrail: group commit before the answer', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-audit-'));
    store = await openStore(`sqlite:${join(dir, 'test.db')}`);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores concurrent records in a few batches, each caller resolved once its record is stored', async () => {
    const repo = counting(store.auditEvents);
    const trail = new AuditTrail(repo, { enabled: true, digestKey, logger });
    const events = Array.from({ length: 300 }, () => sample());
    await Promise.all(
      events.map(async (event) => {
        await trail.record(event);
        const page = await store.auditEvents.lookup({ accessKeyId: 'LTAIroot' }, 50, undefined);
        expect(page.events.length).toBeGreaterThan(0);
      }),
    );
    expect(repo.batches.reduce((a, b) => a + b, 0)).toBe(300);
    expect(repo.batches.length).toBeLessThan(10);
    await trail.close();
  });

  it('never drops a record when the queue is full: callers wait for room', async () => {
    const repo = counting(store.auditEvents);
    const trail = new AuditTrail(repo, { enabled: true, digestKey, logger, maxQueued: 5, maxBatch: 3 });
    await Promise.all(Array.from({ length: 40 }, () => trail.record(sample('Bounded'))));
    expect(Math.max(...repo.batches)).toBeLessThanOrEqual(3);
    let count = 0;
    let after: number | undefined;
    for (;;) {
      const page = await store.auditEvents.lookup({ eventName: 'Bounded' }, 50, after);
      count += page.events.length;
      if (!page.more) break;
      after = page.lastSeq;
    }
    expect(count).toBe(40);
  });

  it('counts its backlog: the batch being written, the queue, and callers waiting for room', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const repo: AuditEventRepo = {
      append: async (events) => {
        await held;
        await store.auditEvents.append(events);
      },
      lookup: (...args) => store.auditEvents.lookup(...args),
      purgeBefore: (ms) => store.auditEvents.purgeBefore(ms),
    };
    const trail = new AuditTrail(repo, { enabled: true, digestKey, logger, maxQueued: 4, maxBatch: 2 });
    expect(trail.backlog).toBe(0);
    const calls = Array.from({ length: 9 }, () => trail.record(sample('Backlog')));
    // The first batch (2) waits in the store; the queue refilled to 4; 3 callers wait for room.
    await vi.waitFor(() => expect(trail.backlog).toBe(9));
    release();
    await Promise.all(calls);
    expect(trail.backlog).toBe(0);
    expect((await store.auditEvents.lookup({ eventName: 'Backlog' }, 50, undefined)).events).toHaveLength(9);
  });

  it('rejects every caller of a batch the store refused, and goes on with the next', async () => {
    let fail = true;
    const repo: AuditEventRepo = {
      append: async (events) => {
        if (fail) throw new Error('disk gone');
        await store.auditEvents.append(events);
      },
      lookup: (...args) => store.auditEvents.lookup(...args),
      purgeBefore: (ms) => store.auditEvents.purgeBefore(ms),
    };
    const trail = new AuditTrail(repo, { enabled: true, digestKey, logger });
    const results = await Promise.allSettled([trail.record(sample()), trail.record(sample())]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(trail.record(sample())).resolves.toBeUndefined();
  });

  it('records nothing when off', async () => {
    const trail = new AuditTrail(store.auditEvents, { enabled: false, digestKey, logger });
    await trail.record(sample('Off'));
    expect((await store.auditEvents.lookup({ eventName: 'Off' }, 10, undefined)).events).toEqual([]);
  });

  it('exports each stored record as one JSON line to a 0600 file', async () => {
    const path = join(dir, 'audit.jsonl');
    const trail = new AuditTrail(store.auditEvents, {
      enabled: true,
      digestKey,
      logger,
      export: { kind: 'file', path },
    });
    const events = [sample('First'), sample('Second')];
    await Promise.all(events.map((event) => trail.record(event)));
    await trail.close();
    const lines = (await readFile(path, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.eventName).sort()).toEqual(['First', 'Second']);
    expect(lines[0].userIdentity.accessKeyId).toBe('LTAIroot');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('exports to stdout, one line per record, after it is stored', async () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(((
      chunk: string,
      done?: (error?: Error | null) => void,
    ) => {
      lines.push(...chunk.trim().split('\n'));
      done?.();
      return true;
    }) as typeof process.stdout.write);
    try {
      const trail = new AuditTrail(store.auditEvents, {
        enabled: true,
        digestKey,
        logger,
        export: { kind: 'stdout' },
      });
      const event = sample('ToStdout');
      await trail.record(event);
      await trail.close();
      expect(lines.map((line) => JSON.parse(line).eventId)).toEqual([event.eventId]);
      expect((await store.auditEvents.lookup({ eventName: 'ToStdout' }, 10, undefined)).events).toHaveLength(
        1,
      );
    } finally {
      write.mockRestore();
    }
  });

  it('digests a value alike for one key and differently for another', () => {
    const one = new AuditTrail(store.auditEvents, { enabled: true, digestKey, logger });
    const other = new AuditTrail(store.auditEvents, {
      enabled: true,
      digestKey: Buffer.alloc(32, 8),
      logger,
    });
    expect(one.digest('hunter2')).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(one.digest('hunter2')).toBe(one.digest('hunter2'));
    expect(one.digest('hunter2')).not.toBe(other.digest('hunter2'));
  });
});
