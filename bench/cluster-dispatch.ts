import { randomBytes } from 'node:crypto';
import { dropSchema, newSchemaName, postgresAvailable, postgresUrlFor } from '../test/helpers/postgres.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { measureInvokeLatency } from './invoke-latency.js';

/**
 * Two server nodes on one PostgreSQL schema: `echo hi` invoked on node A for an agent on node A
 * (same node) and for an agent on node B (cross-node: a NOTIFY carries the wake-up), the same
 * number of runs each, measured in one run.
 */
export async function measureClusterDispatch(runs: number) {
  if (!(await postgresAvailable()))
    throw new Error('the cluster benchmark needs PostgreSQL on 127.0.0.1:5432');
  const schema = newSchemaName();
  const accessKey = {
    id: `LTAIbench${randomBytes(8).toString('hex')}`,
    secret: randomBytes(15).toString('hex'),
  };
  const env = { OPENASSIST_SECRET_KEY: randomBytes(32).toString('base64'), OPENASSIST_LOG_LEVEL: 'warn' };
  const nodeA = await startServerProcess({ databaseUrl: postgresUrlFor(schema), accessKey, env });
  const nodeB = await startServerProcess({ databaseUrl: postgresUrlFor(schema), accessKey, env });
  try {
    const sameNode = await measureInvokeLatency(nodeA, runs);
    const crossNode = await measureInvokeLatency(nodeA, runs, { agentServerUrl: nodeB.url });
    const first = (summary: typeof sameNode) =>
      summary.toFirstInstructionMs ?? { p50: Number.NaN, p99: Number.NaN };
    console.log(
      `PostgreSQL, ${runs} runs each, first instruction: same node p50 ${first(sameNode).p50} ms, p99 ${first(sameNode).p99} ms; cross-node p50 ${first(crossNode).p50} ms, p99 ${first(crossNode).p99} ms (×${(first(crossNode).p50 / first(sameNode).p50).toFixed(2)})`,
    );
    return { scenario: 'dispatch latency, same node vs cross-node (PostgreSQL)', runs, sameNode, crossNode };
  } finally {
    await nodeA.stop();
    await nodeB.stop();
    await dropSchema(schema);
  }
}
