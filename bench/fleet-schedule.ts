import { join } from 'node:path';
import Database from 'better-sqlite3';
import { waitFor } from '../test/helpers/deadline.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { startLoadProcess } from './load-process.js';
import { cpuSeconds } from './proc.js';
import { apiOf, summary } from './stats.js';

export interface FleetSchedule {
  readonly agents: number;
  readonly generatorProcesses: number;
  readonly periods: number;
  readonly runs: number;
  /** A run's start minus its fire time, both as the agent reported them (accepted, started). */
  readonly fireErrorMs: { p50: number; p99: number; max: number };
  /** The server's CPU over the fired periods, in % of one core. */
  readonly serverCpuPercent: number;
}

const periodMs = 10_000;
const perCall = 50;
const identitiesPerProcess = 250;

/**
 * A 10 s cron (`0/10 * * * * ?`) on `agents` memory-mode load-generator identities, which run it
 * with the agent's own scheduler: how far each run started from its fire time, read from what the
 * server recorded of the agents' reports, and the server's CPU while `periods` fire times pass.
 */
export async function measureFleetSchedule(agents: number, periods: number): Promise<FleetSchedule> {
  const server = await startServerProcess({ env: { OPENASSIST_LOG_LEVEL: 'warn' } });
  const call = apiOf(server);
  try {
    const activations: { id: string; code: string }[] = [];
    for (let left = agents; left > 0; left -= 1000) {
      const created = await call('CreateActivation', { InstanceCount: String(Math.min(1000, left)) });
      activations.push({ id: String(created.ActivationId), code: String(created.ActivationCode) });
    }
    // A real agent has its event loop to itself; identities sharing one fire one after the other,
    // so each generator process holds few enough that this adds little to their fire times.
    const processes = Math.ceil(agents / identitiesPerProcess);
    const generators = await Promise.all(
      Array.from({ length: processes }, (_, p) =>
        startLoadProcess({
          serverUrl: server.url,
          activations,
          count: Math.min(identitiesPerProcess, agents - p * identitiesPerProcess),
          mode: 'memory',
          namePrefix: `cron-${p}`,
          timeoutMs: 300_000,
        }),
      ),
    );
    const fleet = { instanceIds: generators.flatMap((generator) => generator.instanceIds) };
    try {
      const command = await call('CreateCommand', {
        Name: 'fleet-cron',
        Type: 'RunShellScript',
        ContentEncoding: 'PlainText',
        CommandContent: 'echo tick',
        Timeout: '10',
      });
      const invokeIds: string[] = [];
      for (let at = 0; at < fleet.instanceIds.length; at += perCall) {
        const targets = fleet.instanceIds.slice(at, at + perCall).map((id, i) => [`InstanceId.${i + 1}`, id]);
        const invoked = await call('InvokeCommand', {
          CommandId: String(command.CommandId),
          Frequency: '0/10 * * * * ?',
          ...Object.fromEntries(targets),
        });
        invokeIds.push(String(invoked.InvokeId));
      }
      // Counted from the first fire time at least 3 s away (every schedule is held by then).
      const firstFireMs = Math.ceil((Date.now() + 3_000) / periodMs) * periodMs;
      const lastFireMs = firstFireMs + (periods - 1) * periodMs;
      await new Promise((resolve) => setTimeout(resolve, firstFireMs - Date.now() - 1_000));
      const serverPid = server.child.pid ?? 0;
      const cpuBefore = await cpuSeconds(serverPid);
      const windowStart = performance.now();
      // The database is read beside the running server (WAL), as a reader only.
      const db = new Database(join(server.dataDir, 'openassist.db'), { readonly: true });
      try {
        const query = db.prepare(
          `SELECT scheduled_at, start_time FROM invocation_instances
           WHERE execution > 0 AND scheduled_at BETWEEN ? AND ? AND start_time > 0`,
        );
        const rows = await waitFor(
          `${agents * periods} scheduled runs`,
          () => {
            const found = query.all(firstFireMs, lastFireMs) as {
              scheduled_at: number;
              start_time: number;
            }[];
            return found.length >= agents * periods ? found : undefined;
          },
          (periods + 3) * periodMs,
        );
        const serverCpuPercent =
          (((await cpuSeconds(serverPid)) - cpuBefore) / ((performance.now() - windowStart) / 1000)) * 100;
        for (const invokeId of invokeIds) await call('StopInvocation', { InvokeId: invokeId });
        return {
          agents,
          generatorProcesses: processes,
          periods,
          runs: rows.length,
          fireErrorMs: summary(rows.map((row) => Number(row.start_time) - Number(row.scheduled_at))),
          serverCpuPercent: Math.round(serverCpuPercent * 10) / 10,
        };
      } finally {
        db.close();
      }
    } finally {
      await Promise.all(generators.map((generator) => generator.stop()));
    }
  } finally {
    await server.stop();
  }
}
