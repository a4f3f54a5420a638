import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AgentProcess, startAgentProcess } from '../../test/helpers/agent-process.js';
import { dropSchema, newSchemaName, postgresAvailable, postgresUrlFor } from '../../test/helpers/postgres.js';
import { type ServerProcess, startServerProcess } from '../../test/helpers/server-process.js';
import { type LoadProcess, startLoadProcess } from '../load-process.js';
import { Ecs, type EcsClient, sdkOf } from '../sdk.js';

/** One OpenAssist deployment the dashboard watches: a server, its agents, an SDK client. */
export interface Deployment {
  /** The Prometheus job that scrapes it. */
  readonly job: string;
  readonly server: ServerProcess;
  readonly client: EcsClient;
  /** Real `openassist agent` processes, connected. */
  readonly agents: readonly AgentProcess[];
  /** Registered, then stopped: its tasks wait until the delivery timeout aborts them. */
  readonly offlineInstanceId: string | undefined;
  /** Memory-mode identities of the load generator (runs end after a short hold). */
  readonly memoryInstanceIds: readonly string[];
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  readonly job: string;
  readonly realAgents: number;
  readonly memoryAgents: number;
  readonly withOfflineAgent: boolean;
  readonly databaseUrl?: string;
}

// Short enough that a run of a minute or so shows delivery timeouts, heartbeats and webhook retries.
const serverEnv = {
  OPENASSIST_LOG_LEVEL: 'warn',
  OPENASSIST_DELIVERY_TIMEOUT_S: '10',
  OPENASSIST_HEARTBEAT_S: '3',
  OPENASSIST_WEBHOOK_FIRST_RETRY_MS: '2000',
};

async function activate(client: EcsClient, count: number): Promise<{ id: string; code: string }> {
  const { body } = await client.createActivation(
    new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou', instanceCount: count }),
  );
  return { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
}

export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const server = await startServerProcess({
    env: serverEnv,
    ...(options.databaseUrl && { databaseUrl: options.databaseUrl }),
  });
  const client = sdkOf(server);
  const agents: AgentProcess[] = [];
  let load: LoadProcess | undefined;
  const stop = async () => {
    await load?.stop();
    await Promise.all(agents.map((agent) => agent.stop()));
    await server.stop();
  };
  try {
    const realCount = options.realAgents + (options.withOfflineAgent ? 1 : 0);
    const activation = realCount > 0 ? await activate(client, realCount) : { id: '', code: '' };
    for (let i = 0; i < options.realAgents; i += 1) {
      agents.push(
        await startAgentProcess({
          serverUrl: server.url,
          activationId: activation.id,
          activationCode: activation.code,
        }),
      );
    }
    let offlineInstanceId: string | undefined;
    if (options.withOfflineAgent) {
      const agent = await startAgentProcess({
        serverUrl: server.url,
        activationId: activation.id,
        activationCode: activation.code,
      });
      offlineInstanceId = agent.instanceId;
      await agent.stop();
    }
    if (options.memoryAgents > 0) {
      load = await startLoadProcess({
        serverUrl: server.url,
        activations: [await activate(client, options.memoryAgents)],
        count: options.memoryAgents,
        mode: 'memory',
        holdMs: 400,
        namePrefix: `${options.job}-mem`,
      });
    }
    return {
      job: options.job,
      server,
      client,
      agents,
      offlineInstanceId,
      memoryInstanceIds: load?.instanceIds ?? [],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A second deployment on PostgreSQL (its own schema), so the pool panel has data; none without PostgreSQL. */
export async function startPostgresDeployment(): Promise<Deployment | undefined> {
  if (!(await postgresAvailable())) return undefined;
  const schema = newSchemaName();
  const deployment = await startDeployment({
    job: 'openassist-postgres',
    realAgents: 0,
    memoryAgents: 4,
    withOfflineAgent: false,
    databaseUrl: postgresUrlFor(schema),
  });
  return {
    ...deployment,
    async stop() {
      await deployment.stop();
      await dropSchema(schema);
    },
  };
}

/**
 * A webhook receiver on loopback that refuses deliveries (503) until `accept()`: the outbox fills,
 * then drains, which is what the backlog panel is for.
 */
export interface WebhookReceiver {
  readonly url: string;
  accept(): void;
  /** Deliveries refused (503) and accepted (200). */
  readonly received: { refused: number; accepted: number };
  stop(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let accepting = false;
  const received = { refused: 0, accepted: 0 };
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received[accepting ? 'accepted' : 'refused'] += 1;
      response.statusCode = accepting ? 200 : 503;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    accept: () => {
      accepting = true;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
