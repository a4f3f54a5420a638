import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { version } from '../../src/version.js';
import { waitFor } from '../helpers/deadline.js';
import { dropSchema, newSchemaName, postgresAvailable, postgresUrlFor } from '../helpers/postgres.js';
import { connectOfferListener } from '../helpers/protocol-agent.js';
import { Ecs, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const available = await postgresAvailable();

/** Node A takes the setting, node B holds the agent: B hears of the change through the notification. */
describe.skipIf(!available)('upgrade offers across cluster nodes (PostgreSQL)', () => {
  const schema = newSchemaName();
  let agentDir: string;
  let nodeA: ServerProcess;
  let nodeB: ServerProcess;

  beforeAll(async () => {
    agentDir = await mkdtemp(join(tmpdir(), 'openassist-agent-dir-'));
    const content = Buffer.from('#!/bin/sh\necho stand-in\n');
    await writeFile(join(agentDir, 'openassist-agent-linux-x64'), content, { mode: 0o755 });
    await writeFile(
      join(agentDir, 'openassist-agent-linux-x64.sha256'),
      `${createHash('sha256').update(content).digest('hex')}  openassist-agent-linux-x64\n`,
    );
    const accessKey = {
      id: `LTAItest${randomBytes(8).toString('hex')}`,
      secret: randomBytes(15).toString('hex'),
    };
    // Info logs say why an offer went out (the periodic pass says nothing).
    const env = { OPENASSIST_AGENT_DIR: agentDir, OPENASSIST_LOG_LEVEL: 'info' };
    nodeA = await startServerProcess({ databaseUrl: postgresUrlFor(schema), accessKey, env });
    nodeB = await startServerProcess({ databaseUrl: postgresUrlFor(schema), accessKey, env });
  }, 90_000);

  afterAll(async () => {
    await nodeA?.stop();
    await nodeB?.stop();
    await dropSchema(schema);
    await rm(agentDir, { recursive: true, force: true });
  });

  it('offers the upgrade at once to an agent on another node than the one that took the setting', async () => {
    const clientA = ecsClient(nodeA.endpoint, nodeA.accessKeyId, nodeA.accessKeySecret);
    const { body } = await clientA.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    const agent = await connectOfferListener(
      nodeB.url,
      { id: body?.activationId ?? '', code: body?.activationCode ?? '' },
      { agentVersion: '0.2.0', arch: 'x64' },
    );
    try {
      await clientA.modifyCloudAssistantSettings(
        new Ecs.ModifyCloudAssistantSettingsRequest({
          regionId: region,
          settingType: 'AgentUpgradeConfig',
          agentUpgradeConfig: new Ecs.ModifyCloudAssistantSettingsRequestAgentUpgradeConfig({
            enabled: true,
          }),
        }),
      );
      const [offer] = await waitFor('the offer on node B', () =>
        agent.offers.length > 0 ? agent.offers : undefined,
      );
      expect(offer).toMatchObject({
        type: 'upgrade',
        version,
        path: '/agent/download/openassist-agent-linux-x64',
      });
      // Node B sent it because the setting changed (not its 30 s pass), told by node A.
      expect(nodeB.stderr()).toMatch(/"trigger":"changed"[^\n]*offering the agent an upgrade/);
      expect(nodeA.stderr()).not.toMatch(/offering the agent an upgrade/);
    } finally {
      agent.close();
    }
  });
});
