import { type AgentProcess, startAgentProcess } from './agent-process.js';
import { Ecs, type EcsClient, ecsClient } from './sdk.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

/** A server process, an SDK client for it, and one real agent registered through an activation. */
export interface Fleet {
  readonly server: ServerProcess;
  readonly client: EcsClient;
  readonly agent: AgentProcess;
  stop(): Promise<void>;
}

export async function startFleet(env: Record<string, string> = {}): Promise<Fleet> {
  const server = await startServerProcess({ env });
  const client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  const { body } = await client.createActivation(
    new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou' }),
  );
  const agent = await startAgentProcess({
    serverUrl: server.url,
    activationId: body?.activationId ?? '',
    activationCode: body?.activationCode ?? '',
  });
  return {
    server,
    client,
    agent,
    async stop() {
      await agent.stop();
      await server.stop();
    },
  };
}
