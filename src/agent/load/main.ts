/**
 * The load generator: `OPENASSIST_LOAD_ACTIVATIONS='ID:CODE[,ID:CODE…]' node dist/src/agent/load/main.js
 * --server URL --count N [--mode memory|spawn] [--hold-ms MS] [--instances-out FILE]`. The activations come from
 * the environment: codes in the arguments would be readable by every local user (ps).
 * Registers N agent identities through the activations and holds their channels until SIGTERM;
 * prints `load: registered N`, `load: connected N`, `load: ready` (the instances file is written), then `load: connected N finished M most running K` whenever
 * one changes (at most once a second; K: memory-mode runs at once, the most so far, over every identity).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Environment, processEnvironment } from '../../config.js';
import { hostFacts } from '../host-facts.js';
import { startLoadFleet } from './load-fleet.js';
import { memoryRuns } from './memory-executor.js';

const loadModes = ['memory', 'spawn'] as const;

function readOptions(argv: string[], environment: Environment) {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      count: { type: 'string' },
      mode: { type: 'string', default: 'memory' },
      'instances-out': { type: 'string' },
      'name-prefix': { type: 'string', default: `${hostname()}-load` },
      parallel: { type: 'string', default: '64' },
      'hold-ms': { type: 'string', default: '0' },
    },
  });
  const count = Number(values.count);
  if (!Number.isSafeInteger(Number(values['hold-ms'])) || Number(values['hold-ms']) < 0)
    throw new Error('--hold-ms takes whole milliseconds');
  if (!values.server || !Number.isSafeInteger(count) || count < 1)
    throw new Error('--server URL and --count N (N ≥ 1) are required');
  const activations = environment.tools.loadActivations;
  if (activations.length === 0) throw new Error('OPENASSIST_LOAD_ACTIVATIONS must hold at least one ID:CODE');
  const mode = loadModes.find((known) => known === values.mode);
  if (!mode) throw new Error('--mode is memory or spawn');
  return {
    serverUrl: values.server,
    count,
    activations,
    mode,
    facts: hostFacts(environment.agent),
    instancesOut: values['instances-out'],
    namePrefix: values['name-prefix'] ?? 'load',
    parallel: Number(values.parallel),
    holdMs: Number(values['hold-ms']),
  };
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2), processEnvironment());
  const workRoot = await mkdtemp(join(tmpdir(), 'openassist-load-'));
  const say = (line: string) => console.log(`load: ${line}`);
  const fleet = await startLoadFleet({ ...options, workRoot, say });
  if (options.instancesOut) {
    await writeFile(options.instancesOut, JSON.stringify(fleet.agents.map((agent) => agent.instanceId)));
  }
  say('ready');
  let last = '';
  const report = setInterval(() => {
    const line = `connected ${fleet.connected()} finished ${fleet.finishedRuns()} most running ${memoryRuns.most}`;
    if (line !== last) say(line);
    last = line;
  }, 1_000);
  const stop = async () => {
    clearInterval(report);
    await fleet.stop();
    await rm(workRoot, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(`load: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
