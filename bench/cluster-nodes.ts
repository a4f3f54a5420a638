import { randomBytes } from 'node:crypto';
import { dropSchema, newSchemaName, postgresAvailable, postgresUrlFor } from '../test/helpers/postgres.js';
import { type ServerProcess, startServerProcess } from '../test/helpers/server-process.js';

/** Server nodes of one cluster: one fresh PostgreSQL schema, one root key, one secret key. */
export interface ClusterNodes {
  readonly nodes: readonly ServerProcess[];
  /** Stops every node and drops the schema. */
  stop(): Promise<void>;
}

export async function startClusterNodes(count: number): Promise<ClusterNodes> {
  if (!(await postgresAvailable()))
    throw new Error('the cluster benchmark needs PostgreSQL on 127.0.0.1:5432');
  const schema = newSchemaName();
  const accessKey = {
    id: `LTAIbench${randomBytes(8).toString('hex')}`,
    secret: randomBytes(15).toString('hex'),
  };
  const env = { OPENASSIST_SECRET_KEY: randomBytes(32).toString('base64'), OPENASSIST_LOG_LEVEL: 'warn' };
  const nodes: ServerProcess[] = [];
  const stop = async () => {
    for (const node of nodes) await node.stop();
    await dropSchema(schema).catch(() => undefined);
  };
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(await startServerProcess({ databaseUrl: postgresUrlFor(schema), accessKey, env }));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, stop };
}
