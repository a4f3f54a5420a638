import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOf } from '../../bench/stats.js';
import { startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { scrapeMetrics } from '../helpers/metrics-scrape.js';
import { ProtocolAgent } from '../helpers/protocol-agent.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// Who may read /metrics: with OPENASSIST_METRICS_TOKEN the bearer of that token, without it only
// clients on the server's machine (the socket's address, never a forwarding header).

const token = 'metrics-token-0123456789abcdef';

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text || '{}') };
}

/** An address of this machine that is not loopback (a client there is "remote" to the server). */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry && !entry.internal && entry.family === 'IPv4')?.address;

describe('/metrics with OPENASSIST_METRICS_TOKEN', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      env: { OPENASSIST_METRICS_TOKEN: token, OPENASSIST_DELIVERY_TIMEOUT_S: '2' },
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a missing, wrong or other-scheme credential with 401 and the API error body', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer metrics-token-0123456789abcdeX' },
      { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` },
      { authorization: `Bearer ${token}x` },
      { authorization: `Bearer ${'y'.repeat(100_000)}` },
    ];
    for (const headers of attempts) {
      const answer = await get(`${server.url}/metrics`, headers);
      expect(answer.status).toBe(401);
      expect(answer.json.Code).toBe('InvalidToken.Metrics');
      expect(Object.keys(answer.json)).toEqual(['RequestId', 'HostId', 'Code', 'Message', 'Recommend']);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(answer.text).not.toContain(token);
    }
  });

  it('answers the bearer of the token, and never logs it', async () => {
    const scrape = await scrapeMetrics(server.url, { authorization: `Bearer ${token}` });
    expect(scrape.text).toContain('# TYPE openassist_api_requests_total counter');
    expect(server.stderr()).not.toContain(token);
    expect(server.stdout()).not.toContain(token);
  });

  it('counts a delivery timeout and the run it aborted', async () => {
    const call = apiOf(server);
    const activation = await call('CreateActivation', { InstanceCount: '1' });
    const agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: String(activation.ActivationId),
      activationCode: String(activation.ActivationCode),
    });
    // Stopped, not shut down: the instance stays Running with its agent offline.
    await agent.stop();
    const auth = { authorization: `Bearer ${token}` };
    await waitFor('the agent offline', async () =>
      (await scrapeMetrics(server.url, auth)).value('openassist_agents_connected') === 0 ? true : undefined,
    );
    await call('RunCommand', {
      Type: 'RunShellScript',
      ContentEncoding: 'PlainText',
      CommandContent: 'echo never',
      'InstanceId.1': agent.instanceId,
    });
    const aborted = await waitFor('the delivery timeout', async () => {
      const scrape = await scrapeMetrics(server.url, auth);
      return scrape.value('openassist_delivery_timeouts_total') === 1 ? scrape : undefined;
    });
    expect(aborted.value('openassist_runs_ended_total', { status: 'Aborted' })).toBe(1);
    expect(aborted.value('openassist_invocations_created_total', { repeat_mode: 'Once' })).toBe(1);
    // Never delivered: no dispatch latency was observed.
    expect(aborted.value('openassist_dispatch_latency_seconds_count', { stage: 'delivered' })).toBe(0);
  });
});

describe('/metrics without a token', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({ listen: '0.0.0.0:0' });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('answers a client on the loopback address', async () => {
    const port = new URL(server.url).port;
    const scrape = await scrapeMetrics(`http://127.0.0.1:${port}`);
    expect(scrape.names()).toContain('openassist_agents_connected');
  });

  it("clips an agent's boastful health, so the fleet's sums stay sound", async () => {
    const call = apiOf(server);
    const activation = await call('CreateActivation', { InstanceCount: '2' });
    const agents = await Promise.all(
      [1, 2].map(() =>
        ProtocolAgent.register(
          server.url,
          { id: String(activation.ActivationId), code: String(activation.ActivationCode) },
          'linux',
        ),
      ),
    );
    try {
      const huge = Number.MAX_SAFE_INTEGER;
      for (const agent of agents) {
        agent.sendRaw({
          type: 'heartbeat',
          activeTasks: 0,
          health: { journalBytes: huge, pendingEvents: huge },
        });
      }
      const local = `http://127.0.0.1:${new URL(server.url).port}`;
      const scrape = await waitFor('the clipped figures', async () => {
        const current = await scrapeMetrics(local);
        return current.value('openassist_agent_journal_bytes', { stat: 'max' }) > 0 ? current : undefined;
      });
      expect(scrape.value('openassist_agent_journal_bytes', { stat: 'max' })).toBe(2 ** 40);
      expect(scrape.value('openassist_agent_journal_bytes', { stat: 'sum' })).toBe(2 ** 41);
      expect(scrape.value('openassist_agent_pending_events', { stat: 'sum' })).toBe(2_000_000_000);
    } finally {
      for (const agent of agents) agent.close();
    }
  });

  it.skipIf(outsideAddress === undefined)(
    'refuses a client on another address with 403, whatever it claims in forwarding headers',
    async () => {
      const port = new URL(server.url).port;
      const claims: Record<string, string>[] = [
        {},
        { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1' },
      ];
      for (const headers of claims) {
        const answer = await get(`http://${outsideAddress}:${port}/metrics`, headers);
        expect(answer.status).toBe(403);
        expect(answer.json.Code).toBe('Forbidden.Metrics');
      }
      // A bearer means nothing without a token configured.
      const withBearer = await get(`http://${outsideAddress}:${port}/metrics`, { authorization: 'Bearer x' });
      expect(withBearer.status).toBe(403);
    },
  );
});

describe('/metrics switched off (OPENASSIST_METRICS=0)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({ env: { OPENASSIST_METRICS: '0' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('is not served: 404 InvalidAction.NotFound, like any unknown path, and the API still works', async () => {
    const answer = await get(`${server.url}/metrics`);
    expect(answer.status).toBe(404);
    expect(answer.json.Code).toBe('InvalidAction.NotFound');
    const regions = await apiOf(server)('DescribeRegions', {});
    expect(regions.RequestId).toBeTypeOf('string');
  });
});
