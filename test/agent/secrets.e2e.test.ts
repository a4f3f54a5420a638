import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ApiCallError, invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { channelPath, registerPath } from '../../src/protocol/messages.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const ram = '2015-05-01';
const oos = '2019-06-01';

/**
 * Every secret the system handles, after a registration, calls with wrong keys and a run that uses a
 * secret parameter: none may show in the server's or the agent's whole log, in an error message or
 * in any Describe/List/Get answer, and the secret parameter is not in the database in clear.
 */
describe('secrets never show in logs, errors or Describe answers', () => {
  let dataDir: string;
  let server: ServerProcess;
  let agent: AgentProcess;
  let root: Credentials;
  const secrets: Record<string, string> = {};
  /** Everything the clients were told: answers and error messages. */
  const seen: string[] = [];

  const call = async (
    credentials: Credentials,
    action: string,
    params: Record<string, string | number | boolean> = {},
    version?: string,
  ) => {
    try {
      const answer = await invoke(credentials, action, params, version);
      seen.push(`${action} ${JSON.stringify(answer)}`);
      return answer;
    } catch (error) {
      seen.push(`${action} ${error instanceof ApiCallError ? error.message : String(error)}`);
      throw error;
    }
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'openassist-secrets-'));
    // The most verbose log level: whatever the server could ever log is in the output.
    server = await startServerProcess({ dataDir, env: { OPENASSIST_LOG_LEVEL: 'trace' } });
    root = { endpoint: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
    secrets.rootKeySecret = server.accessKeySecret;
  });

  afterAll(async () => {
    await agent?.stop();
    if (server?.child.exitCode === null) await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('exercises registration, wrong keys and a secret parameter in a run, then finds none of the secrets', async () => {
    const { AccessKey } = await call(root, 'CreateAccessKey', {}, ram).then(
      (answer) => answer as { AccessKey: { AccessKeyId: string; AccessKeySecret: string } },
    );
    secrets.ramKeySecret = AccessKey.AccessKeySecret;
    seen.pop(); // the one answer that must show a key secret: its creation
    const activation = (await call(root, 'CreateActivation', { RegionId: 'cn-hangzhou' })) as {
      ActivationId: string;
      ActivationCode: string;
    };
    secrets.activationCode = activation.ActivationCode;
    seen.pop(); // likewise the activation code, shown once
    secrets.secretParameter = `pw-${randomBytes(12).toString('hex')}`;
    await call(root, 'CreateSecretParameter', { Name: 'db-password', Value: secrets.secretParameter }, oos);

    agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.ActivationId,
      activationCode: activation.ActivationCode,
    });
    const identity = JSON.parse(await readFile(join(agent.stateDir, 'identity.json'), 'utf8'));
    secrets.agentToken = identity.token;

    // Wrong keys: a wrong secret, an unknown id, the other key's secret, the activation code as a secret.
    const wrong: Credentials[] = [
      { ...root, accessKeySecret: `${root.accessKeySecret}x` },
      { ...root, accessKeyId: 'LTAInobody', accessKeySecret: root.accessKeySecret },
      { ...root, accessKeySecret: AccessKey.AccessKeySecret },
      { ...root, accessKeyId: activation.ActivationId, accessKeySecret: activation.ActivationCode },
    ];
    for (const credentials of wrong) {
      await expect(call(credentials, 'DescribeRegions')).rejects.toBeInstanceOf(ApiCallError);
    }
    // Wrong agent credentials: a near-miss activation code, a near-miss token.
    const register = await fetch(new URL(registerPath, server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        activationId: activation.ActivationId,
        activationCode: `${activation.ActivationCode}x`,
        hostname: 'near-miss',
        osType: 'linux',
        osVersion: 'Linux',
        agentVersion: 'test',
        machineId: 'near-miss',
      }),
    });
    seen.push(await register.text());
    const channel = new URL(channelPath, server.url);
    channel.protocol = 'ws:';
    seen.push(
      await new Promise<string>((resolve) => {
        const ws = new WebSocket(channel, {
          headers: {
            'x-openassist-instance-id': identity.instanceId,
            authorization: `Bearer ${identity.token}x`,
          },
        });
        ws.on('unexpected-response', (_request, response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => {
            text += chunk.toString();
          });
          response.on('end', () => resolve(text));
        });
        ws.on('error', () => undefined);
      }),
    );

    // A run that uses the secret parameter, and shows only its digest.
    const digest = createHash('sha256').update(secrets.secretParameter).digest('hex');
    const { InvokeId } = (await call(root, 'RunCommand', {
      RegionId: 'cn-hangzhou',
      Type: 'RunShellScript',
      CommandContent: "printf %s '{{oos-secret:db-password}}' | sha256sum | cut -c1-64",
      ContentEncoding: 'PlainText',
      'InstanceId.1': agent.instanceId,
    })) as { InvokeId: string };
    await waitFor('the run with the secret parameter', async () => {
      const answer = (await call(root, 'DescribeInvocationResults', {
        RegionId: 'cn-hangzhou',
        InvokeId,
        ContentEncoding: 'PlainText',
      })) as {
        Invocation: {
          InvocationResults: { InvocationResult: { InvocationStatus: string; Output: string }[] };
        };
      };
      const [row] = answer.Invocation.InvocationResults.InvocationResult;
      if (row?.InvocationStatus !== 'Success') return undefined;
      expect(row.Output).toBe(`${digest}\n`);
      return true;
    });
    // The agent's journal held the resolved script while it ran; a few seconds after, it is gone
    // from the file itself, not only from the agent's memory.
    const journalFile = join(agent.stateDir, 'journal.log');
    await waitFor('the resolved secret to leave the agent journal', async () =>
      (await readFile(journalFile)).includes(Buffer.from(secrets.secretParameter ?? '')) ? undefined : true,
    );

    // Every Describe/List/Get answer about what was just used.
    const region = { RegionId: 'cn-hangzhou' };
    for (const action of [
      'DescribeActivations',
      'DescribeManagedInstances',
      'DescribeInstances',
      'DescribeCloudAssistantStatus',
      'DescribeCommands',
      'DescribeInvocations',
      'DescribeServerNodes',
    ]) {
      await call(root, action, region);
    }
    await call(root, 'DescribeInvocationResults', { ...region, InvokeId, IncludeHistory: true });
    await call(root, 'DescribeInvocationOutput', { ...region, InvokeId, InstanceId: agent.instanceId });
    await call(root, 'ListAccessKeys', {}, ram);
    await call(root, 'GetSecretParameter', { Name: 'db-password' }, oos);
    await call(root, 'GetSecretParameters', { Names: JSON.stringify(['db-password']) }, oos);
    await call(root, 'ListSecretParameters', {}, oos);

    await agent.stop();
    expect(await server.stop()).toBe(0);
    const logs = { server: server.stdout() + server.stderr(), agent: agent.output() };
    // The trace log really is the whole story: it names the requests and the registration.
    expect(logs.server).toContain('"action":"RunCommand"');
    expect(logs.server).toContain('agent registered');

    for (const [name, secret] of Object.entries(secrets)) {
      expect(logs.server.includes(secret), `${name} in the server log`).toBe(false);
      expect(logs.agent.includes(secret), `${name} in the agent output`).toBe(false);
      const shown = seen.filter((text) => text.includes(secret));
      expect(shown, `${name} in an answer or error`).toEqual([]);
    }

    // On disk: the secret parameter is sealed, the activation code and the token are only hashes.
    const files = (await readdir(dataDir)).filter((name) => name.startsWith('openassist.db'));
    expect(files).toContain('openassist.db');
    for (const file of files) {
      const bytes = await readFile(join(dataDir, file));
      for (const name of ['secretParameter', 'activationCode', 'agentToken'] as const) {
        expect(bytes.includes(Buffer.from(secrets[name] ?? '')), `${name} in ${file}`).toBe(false);
      }
    }
  });
});
