import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ToolsEnvironment } from '../../config.js';
import { version } from '../../version.js';
import type { HostFacts } from '../host-facts.js';
import { type Identity, register } from '../identity.js';
import { LoadAgent, type LoadMode } from './load-agent.js';

export type LoadActivation = ToolsEnvironment['loadActivations'][number];

export interface LoadFleetOptions {
  readonly serverUrl: string;
  /** Identity i registers through activation i mod their count (InstanceCount is at most 1,000 each). */
  readonly activations: readonly LoadActivation[];
  readonly count: number;
  /** What every identity reports about the machine (the generator's own). */
  readonly facts: HostFacts;
  readonly mode: LoadMode;
  /** Spawn mode: each identity's work dir is a folder of this one. */
  readonly workRoot: string;
  /** Hostnames are `<prefix>-<n>`. */
  readonly namePrefix: string;
  /** Registrations and channel openings in flight at once. */
  readonly parallel?: number;
  /** Memory mode: how long each run lasts. */
  readonly holdMs?: number;
  readonly say?: (line: string) => void;
}

export interface LoadFleet {
  readonly agents: readonly LoadAgent[];
  /** Channels welcomed right now. */
  readonly connected: () => number;
  /** Runs finished on all identities. */
  readonly finishedRuns: () => number;
  stop(): Promise<void>;
}

/** Runs `work` over `items` with at most `parallel` in flight; results in the items' order. */
async function inBatches<T, R>(
  items: readonly T[],
  parallel: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  // One iterator shared by the workers: each takes the next item when it is free.
  const queue = items.entries();
  const worker = async () => {
    for (const [at, item] of queue) results[at] = await work(item, at);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
  return results;
}

/**
 * Many agent identities in one process: each registers through an activation like a real agent,
 * then holds its own channel (load-agent.ts). Identities live in memory only: a load generator
 * that restarts registers new ones.
 */
export async function startLoadFleet(options: LoadFleetOptions): Promise<LoadFleet> {
  const say = options.say ?? (() => undefined);
  const parallel = options.parallel ?? 64;
  const { facts } = options;
  // One boot id per generator process: its identities "boot" together, and only once.
  const bootId = randomUUID();
  const indexes = Array.from({ length: options.count }, (_, i) => i);
  const identities: Identity[] = await inBatches(indexes, parallel, (i) => {
    const activation = options.activations[i % options.activations.length];
    if (!activation) throw new Error('the load generator needs at least one activation');
    return register([options.serverUrl], {
      activationId: activation.id,
      activationCode: activation.code,
      hostname: `${options.namePrefix}-${i}`,
      osType: facts.osType,
      osVersion: facts.osVersion,
      agentVersion: version,
      machineId: `${options.namePrefix}-${i}`,
    });
  });
  say(`registered ${identities.length}`);
  let connected = 0;
  const agents = await inBatches(identities, parallel, async (identity, i) => {
    const workDir = join(options.workRoot, String(i));
    if (options.mode === 'spawn') await mkdir(workDir, { recursive: true, mode: 0o711 });
    const agent = new LoadAgent({
      serverUrls: [options.serverUrl],
      identity,
      mode: options.mode,
      facts,
      hostname: `${options.namePrefix}-${i}`,
      bootId,
      agentVersion: version,
      workDir,
      ...(options.holdMs !== undefined && { holdMs: options.holdMs }),
      onWelcome: () => connected++,
      onLost: () => connected--,
    });
    await agent.start();
    return agent;
  });
  say(`connected ${connected}`);
  return {
    agents,
    connected: () => connected,
    finishedRuns: () => agents.reduce((sum, agent) => sum + agent.finishedRuns, 0),
    async stop() {
      await Promise.all(agents.map((agent) => agent.stop()));
    },
  };
}
