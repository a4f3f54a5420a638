import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { makeCertificates } from '../helpers/certificates.js';
import { cli } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, ecsHttpsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';

describe('HTTPS: the server serves a given certificate; agents, the SDK and the client verify it', () => {
  let dir: string;
  let files: ReturnType<typeof makeCertificates>;
  let server: ServerProcess;
  let ca: string;
  let sdk: InstanceType<typeof Ecs.default>;
  let activation: { id: string; code: string };
  /** A TLS server with the impostor certificate that records every request it gets. */
  let impostor: Server;
  let impostorUrl: string;
  const impostorRequests: string[] = [];
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-tls-'));
    files = makeCertificates(dir);
    ca = await readFile(files.ca, 'utf8');
    server = await startServerProcess({
      env: { OPENASSIST_TLS_CERT: files.cert, OPENASSIST_TLS_KEY: files.key },
    });
    sdk = ecsHttpsClient(server.endpoint, ca, server.accessKeyId, server.accessKeySecret);
    const { body } = await sdk.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
    impostor = createServer(
      { cert: await readFile(files.impostorCert), key: await readFile(files.impostorKey) },
      (request, response) => {
        impostorRequests.push(`${request.method} ${request.url}`);
        response.end();
      },
    );
    impostor.on('upgrade', (request, socket) => {
      impostorRequests.push(`upgrade ${request.url}`);
      socket.destroy();
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    impostorUrl = `https://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    impostor?.close();
    expect(await server?.stop()).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('prints an https:// ready line and answers over TLS with the given certificate', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await new Promise<{ status: number; issuer: string }>((resolve, reject) => {
      get(`${server.url}/health`, { ca }, (response) => {
        const issuer = String((response.socket as TLSSocket).getPeerCertificate().issuer.CN);
        response.resume();
        resolve({ status: response.statusCode ?? 0, issuer });
      }).on('error', reject);
    });
    expect(health).toEqual({ status: 200, issuer: 'OpenAssist test CA' });
  });

  it('serves the official SDK over https with the CA passed in its Config', async () => {
    const { body } = await sdk.describeRegions(new Ecs.DescribeRegionsRequest({}));
    expect(body?.regions?.region?.map((item) => item.regionId)).toContain(region);
  });

  it('serves src/client (fetch) through the CLI, trusting the CA with NODE_EXTRA_CA_CERTS', async () => {
    const env = {
      OPENASSIST_ENDPOINT: server.url,
      OPENASSIST_ACCESS_KEY_ID: server.accessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: server.accessKeySecret,
      OPENASSIST_REGION: region,
      NODE_EXTRA_CA_CERTS: files.ca,
    };
    const run = await cli(['call', 'DescribeRegions'], { env });
    expect(run.code, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout) as { Regions: { Region: { RegionId: string }[] } };
    expect(answer.Regions.Region.map((item) => item.RegionId)).toContain(region);
    // Without the CA, fetch refuses the certificate.
    const untrusted = await cli(['call', 'DescribeRegions'], {
      env: { ...env, NODE_EXTRA_CA_CERTS: undefined },
    });
    expect(untrusted.code).not.toBe(0);
  });

  it('registers and connects an agent over https/wss with --ca, and runs a command on it', async () => {
    const agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
      env: { OPENASSIST_AGENT_CA: files.ca },
    });
    agents.push(agent);
    const { body } = await sdk.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'echo over tls',
        instanceId: [agent.instanceId],
      }),
    );
    const output = await waitFor('the command over TLS', async () => {
      const { body: results } = await sdk.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({
          regionId: region,
          invokeId: body?.invokeId ?? '',
          contentEncoding: 'PlainText',
        }),
      );
      const row = results?.invocation?.invocationResults?.invocationResult?.[0];
      return row?.invocationStatus === 'Success' ? row.output : undefined;
    });
    expect(output).toBe('over tls\n');
  });

  it('refuses to register with a server whose certificate its CA did not sign, sending nothing', async () => {
    const agent = await startAgentProcess({
      serverUrl: impostorUrl,
      activationId: activation.id,
      activationCode: activation.code,
      env: { OPENASSIST_AGENT_CA: files.ca },
      waitConnected: false,
    });
    expect(await agent.exited).toBe(2);
    expect(agent.output()).toContain(`refusing ${impostorUrl}: its certificate cannot be verified`);
    expect(agent.output()).toContain('--ca');
    // Without --ca the test CA is not trusted either (the system's CAs are).
    const withoutCa = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
      waitConnected: false,
    });
    expect(await withoutCa.exited).toBe(2);
    expect(withoutCa.output()).toContain('certificate cannot be verified');
    expect(impostorRequests).toEqual([]);
  });

  it('keeps a registered agent from sending its token to an impostor: it says why and retries', async () => {
    const [registered] = agents;
    if (!registered) throw new Error('the registered agent is missing');
    const stateDir = await mkdtemp(join(tmpdir(), 'openassist-tls-agent-'));
    await cp(join(registered.stateDir, 'identity.json'), join(stateDir, 'identity.json'));
    const moved = await startAgentProcess({
      serverUrl: impostorUrl,
      stateDir,
      env: { OPENASSIST_AGENT_CA: files.ca },
      waitConnected: false,
    });
    await waitFor('the agent to refuse the impostor', () =>
      moved.output().includes(`refusing ${impostorUrl}: its certificate cannot be verified`)
        ? true
        : undefined,
    );
    expect(moved.child.exitCode).toBeNull();
    await moved.stop();
    await rm(stateDir, { recursive: true, force: true });
    expect(impostorRequests).toEqual([]);
  });
});
