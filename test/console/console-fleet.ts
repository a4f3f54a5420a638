import { invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { agentCgroups, removeAgentCgroups } from '../helpers/agent-cgroups.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

/** A real server, one real agent registered through an activation, and the root key to sign in with. */
export interface ConsoleFleet {
  readonly server: ServerProcess;
  readonly agent: AgentProcess;
  readonly credentials: Credentials;
  /** `http://127.0.0.1:PORT/console` */
  readonly consoleUrl: string;
  stop(): Promise<void>;
}

export const regionId = 'cn-hangzhou';

/** Started with the same isomorphic client the console uses, so no SDK is needed outside Vitest. */
export async function startConsoleFleet(): Promise<ConsoleFleet> {
  const server = await startServerProcess();
  const credentials: Credentials = {
    endpoint: server.url,
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
  };
  try {
    const activation = await invoke<{ ActivationId: string; ActivationCode: string }>(
      credentials,
      'CreateActivation',
      { RegionId: regionId, InstanceName: 'web-1' },
    );
    const agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.ActivationId,
      activationCode: activation.ActivationCode,
    });
    await invoke(credentials, 'TagResources', {
      RegionId: regionId,
      ResourceType: 'managedinstance',
      'ResourceId.1': agent.instanceId,
      'Tag.1.Key': 'env',
      'Tag.1.Value': 'staging',
      'Tag.2.Key': 'role',
      'Tag.2.Value': 'web',
    });
    return {
      server,
      agent,
      credentials,
      consoleUrl: `${server.url}/console`,
      async stop() {
        // A test that caps the agent leaves its cgroups: removed once it has stopped.
        const groups = agent.child.pid ? agentCgroups(agent.child.pid) : [];
        await agent.stop();
        removeAgentCgroups(groups);
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
