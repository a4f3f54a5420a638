/**
 * `node dist/bench/store-calls.js [sqlite|postgres]`: the store's own cost of InvokeCommand's write
 * (`invocations.create`, one instance, with the daily quota) and of a result page
 * (`invocations.listResults` by InvokeId and by InstanceId), in-process and one call at a time:
 * CPU per call (process.cpuUsage) and wall time per call. No HTTP, agents or autocannon, so the
 * figures move far less with the machine's load than the API rows do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Invocation } from '../src/domain/invocation.js';
import { openStore } from '../src/store/open-store.js';
import type { InitialRun } from '../src/store/store.js';
import { dropSchema, newSchemaName, postgresUrlFor } from '../test/helpers/postgres.js';
import { invocationRecord } from '../test/helpers/store-records.js';

const database = process.argv[2] === 'postgres' ? 'postgres' : 'sqlite';
const invocations = 1000;
const instances = 100;
const calls = 2000;

let clock = 1;
const invocation = (id: string): Omit<Invocation, 'seq'> =>
  invocationRecord({
    id,
    commandId: 'c-bench',
    commandName: 'bench',
    contentBase64: 'ZWNobyBoaQ==',
    createdAtMs: clock++,
  });
const pending = (instanceId: string): InitialRun[] => [
  { instanceId, status: 'Pending', errorCode: '', errorInfo: '' },
];

async function measure(name: string, count: number, call: (i: number) => Promise<unknown>): Promise<void> {
  // The first calls compile the statements and warm the caches; they are not counted.
  for (let i = 0; i < 50; i++) await call(i);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) await call(i);
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000 / count;
  const wallMs = (performance.now() - started) / count;
  console.log(`${database} ${name.padEnd(30)} ${cpuMs.toFixed(3)} ms CPU/call  ${wallMs.toFixed(3)} ms/call`);
}

const dir = mkdtempSync(join(tmpdir(), 'openassist-bench-store-'));
const schema = newSchemaName();
const store = await openStore(
  database === 'sqlite' ? `sqlite:${join(dir, 'bench.db')}` : postgresUrlFor(schema),
);
try {
  let next = 0;
  const quota = { utcDay: '2026-01-01', limit: 1_000_000_000 };
  await measure('create (1 instance, quota)', invocations, () => {
    const n = next++;
    return store.invocations.create(invocation(`t-${n}`), pending(`mi-${n % instances}`), quota);
  });
  const page = { style: 'token', maxResults: 10, afterSeq: undefined } as const;
  const filter = { regionId: 'cn-hangzhou', includeHistory: false, tags: [] };
  await measure('listResults by InvokeId', calls, (i) =>
    store.invocations.listResults({ ...filter, invokeId: `t-${i % invocations}` }, page),
  );
  await measure('listResults by InstanceId', calls, (i) =>
    store.invocations.listResults({ ...filter, instanceId: `mi-${i % instances}` }, page),
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (database === 'postgres') await dropSchema(schema).catch(() => undefined);
}
