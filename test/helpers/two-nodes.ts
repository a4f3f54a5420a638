import { randomBytes } from 'node:crypto';
import { type AgentProcess, startAgentProcess } from './agent-process.js';
import { dropSchema, newSchemaName, postgresUrlFor } from './postgres.js';
import { Ecs, ecsClient } from './sdk.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

/** Two server nodes on one PostgreSQL schema with one root key, and a real agent held by node B. */
export interface TwoNodes {
  readonly nodeA: ServerProcess;
  readonly nodeB: ServerProcess;
  readonly agent: AgentProcess;
  readonly rootKey: { readonly id: string; readonly secret: string };
  stop(): Promise<void>;
}

export async function startTwoNodes(extraEnv: Record<string, string> = {}): Promise<TwoNodes> {
  const schema = newSchemaName();
  const rootKey = {
    id: `LTAItest${randomBytes(8).toString('hex')}`,
    secret: randomBytes(15).toString('hex'),
  };
  // Secret parameters sealed on one node must open on the other.
  const env = { OPENASSIST_SECRET_KEY: randomBytes(32).toString('base64'), ...extraEnv };
  const nodeA = await startServerProcess({ databaseUrl: postgresUrlFor(schema), accessKey: rootKey, env });
  const nodeB = await startServerProcess({ databaseUrl: postgresUrlFor(schema), accessKey: rootKey, env });
  const { body } = await ecsClient(nodeB.endpoint, rootKey.id, rootKey.secret).createActivation(
    new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou' }),
  );
  const agent = await startAgentProcess({
    serverUrl: nodeB.url,
    activationId: body?.activationId ?? '',
    activationCode: body?.activationCode ?? '',
  });
  return {
    nodeA,
    nodeB,
    agent,
    rootKey,
    async stop() {
      await agent.stop();
      await nodeA.stop();
      await nodeB.stop();
      await dropSchema(schema);
    },
  };
}
