import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { type RawResponse, v3Raw } from '../helpers/raw-client.js';
import { Ecs, finishedResult } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { type Receiver, webhookSecret as secret, startReceiver } from '../helpers/webhook-receiver.js';

// Quick retries and a short POST timeout, so a test sees several attempts in seconds.
const serverEnv = { OPENASSIST_WEBHOOK_FIRST_RETRY_MS: '200', OPENASSIST_WEBHOOK_TIMEOUT_S: '2' };

describe('webhooks end to end (real server, agent and receiver)', () => {
  let fleet: Fleet;
  let server: ServerProcess;
  const receivers: Receiver[] = [];

  const call = async (action: string, params: Record<string, string>): Promise<RawResponse> =>
    v3Raw({
      url: server.url,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
      action,
      params,
    });

  async function addWebhook(url: string): Promise<string> {
    const created = await call('CreateWebhook', { Url: url, Secret: secret });
    expect(created.status, created.text).toBe(200);
    // The secret goes in once and never comes back.
    expect(created.text).not.toContain(secret);
    return (created.json.Webhook as { WebhookId: string }).WebhookId;
  }

  async function run(script: string): Promise<string> {
    const { body } = await fleet.client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: 'cn-hangzhou',
        type: 'RunShellScript',
        commandContent: script,
        instanceId: [fleet.agent.instanceId],
      }),
    );
    return body?.invokeId ?? '';
  }

  async function webhook(id: string) {
    const listed = await call('DescribeWebhooks', { WebhookId: id });
    return (listed.json.Webhooks as { Webhook: Record<string, unknown>[] }).Webhook[0];
  }

  beforeAll(async () => {
    fleet = await startFleet(serverEnv);
    server = fleet.server;
  });

  afterAll(async () => {
    await fleet?.agent.stop();
    await server?.stop();
    for (const receiver of receivers) await receiver.close();
  });

  it('refuses URLs that are not http(s) and unknown webhook ids', async () => {
    for (const url of ['ftp://127.0.0.1/x', 'file:///etc/passwd', 'not a url']) {
      const refused = await call('CreateWebhook', { Url: url, Secret: secret });
      expect([refused.status, refused.json.Code]).toEqual([400, 'InvalidParameter.Url']);
    }
    const short = await call('CreateWebhook', { Url: 'http://127.0.0.1:9/', Secret: 'short' });
    expect(short.json.Code).toBe('InvalidParameter.Secret');
    const unknown = await call('DeleteWebhook', { WebhookId: 'wh-none' });
    expect([unknown.status, unknown.json.Code]).toEqual([404, 'InvalidWebhookId.NotFound']);
  });

  it('delivers each event exactly once after dedup, signed, to a receiver failing the first 3 deliveries', async () => {
    const receiver = await startReceiver((index) => (index < 3 ? 500 : 200));
    receivers.push(receiver);
    const id = await addWebhook(receiver.url);
    const invokeId = await run('echo hello');
    await finishedResult(fleet.client, invokeId);
    const mine = () => receiver.accepted().filter((delivery) => delivery.body.InvokeId === invokeId);
    await waitFor(
      'the run.finished and the final invocation.status to be accepted',
      () =>
        mine().some((d) => d.body.Type === 'run.finished') &&
        mine().some((d) => d.body.Type === 'invocation.status' && d.body.InvocationStatus === 'Success')
          ? true
          : undefined,
      30_000,
    );
    await waitFor('nothing left pending', async () =>
      (await webhook(id))?.PendingCount === 0 ? true : undefined,
    );
    // Three failures were retried, each event accepted once: the receiver's dedup has nothing to drop.
    expect(receiver.deliveries.filter((d) => d.answered === 500)).toHaveLength(3);
    const acceptedIds = receiver.accepted().map((d) => d.eventId);
    expect(new Set(acceptedIds).size).toBe(acceptedIds.length);
    for (const failed of receiver.deliveries.filter((d) => d.answered === 500))
      expect(acceptedIds).toContain(failed.eventId);
    expect(receiver.deliveries.every((d) => d.signed && d.eventId === d.body.EventId)).toBe(true);
    const finished = mine().find((d) => d.body.Type === 'run.finished')?.body;
    expect(finished).toMatchObject({
      InvokeId: invokeId,
      InstanceId: fleet.agent.instanceId,
      Status: 'Success',
      ExitCode: 0,
      RegionId: 'cn-hangzhou',
      Output: { Action: 'DescribeInvocationResults', InvokeId: invokeId },
    });
    expect(String(finished?.FinishTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await webhook(id)).toMatchObject({ FailedCount: 0, PendingCount: 0 });
    expect(((await webhook(id))?.DeliveredCount as number) >= 2).toBe(true);
    expect((await call('DeleteWebhook', { WebhookId: id })).status).toBe(200);
  });

  it('keeps InvokeCommand and the other webhooks fast while a receiver never answers', async () => {
    const silent = await startReceiver(() => undefined);
    const healthy = await startReceiver(() => 200);
    receivers.push(silent, healthy);
    const id = await addWebhook(silent.url);
    const healthyId = await addWebhook(healthy.url);
    const { body } = await fleet.client.createCommand(
      new Ecs.CreateCommandRequest({
        regionId: 'cn-hangzhou',
        name: 'webhook-latency',
        type: 'RunShellScript',
        commandContent: Buffer.from('echo hi').toString('base64'),
      }),
    );
    const latencies: number[] = [];
    const invokeIds: string[] = [];
    for (let i = 0; i < 15; i++) {
      const started = performance.now();
      const invoked = await fleet.client.invokeCommand(
        new Ecs.InvokeCommandRequest({
          regionId: 'cn-hangzhou',
          commandId: body?.commandId ?? '',
          instanceId: [fleet.agent.instanceId],
        }),
      );
      latencies.push(performance.now() - started);
      invokeIds.push(invoked.body?.invokeId ?? '');
    }
    // The healthy receiver gets every run's end while the silent one holds its share of the POSTs.
    await waitFor(
      'the healthy receiver to get every run.finished',
      () =>
        invokeIds.every((invokeId) =>
          healthy.accepted().some((d) => d.body.InvokeId === invokeId && d.body.Type === 'run.finished'),
        )
          ? true
          : undefined,
      30_000,
    );
    // Events for the silent receiver pile up (each POST waits for its timeout), the API does not wait.
    await waitFor('the silent receiver to be sent events', () =>
      silent.deliveries.length > 0 ? true : undefined,
    );
    latencies.sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(500);
    expect(latencies.at(-1)).toBeLessThan(2_000);
    expect((await call('DeleteWebhook', { WebhookId: id })).status).toBe(200);
    expect((await call('DeleteWebhook', { WebhookId: healthyId })).status).toBe(200);
  });

  it('the CLI adds, lists, tests and removes a webhook', async () => {
    const receiver = await startReceiver(() => 204);
    receivers.push(receiver);
    const home = await mkdtemp(join(tmpdir(), 'openassist-home-'));
    const env = {
      HOME: home,
      OPENASSIST_DATA_DIR: join(home, 'no-data'),
      OPENASSIST_ROOT_ACCESS_KEY_ID: '',
      OPENASSIST_ENDPOINT: server.url,
      OPENASSIST_ACCESS_KEY_ID: server.accessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: server.accessKeySecret,
    };
    try {
      const added = await cliJson<{ WebhookId: string }>(
        ['webhooks', 'add', receiver.url, '--secret', secret],
        {
          env,
        },
      );
      expect(added.WebhookId).toMatch(/^wh-/);
      const table = await cli(['webhooks', 'list'], { env });
      expect(table.stdout).toContain(added.WebhookId);
      expect(table.stdout).not.toContain(secret);
      const tagged = await cliJson<{ WebhookId: string }>(
        ['webhooks', 'add', receiver.url, '--secret', secret, '--tag', 'team=web'],
        { env },
      );
      const listed = await cliJson<{ WebhookId: string; Url: string }[]>(['webhooks', 'list'], { env });
      expect(listed).toEqual([
        expect.objectContaining({ WebhookId: added.WebhookId, Url: receiver.url, TagKey: '' }),
        expect.objectContaining({ WebhookId: tagged.WebhookId, TagKey: 'team', TagValue: 'web' }),
      ]);
      expect((await cli(['webhooks', 'remove', tagged.WebhookId], { env })).code).toBe(0);
      const tested = await cli(['webhooks', 'test', added.WebhookId], { env });
      expect(tested.code, tested.stderr).toBe(0);
      await waitFor('the test event', () =>
        receiver.accepted().some((d) => d.body.Type === 'webhook.test' && d.signed) ? true : undefined,
      );
      expect((await cli(['webhooks', 'remove', added.WebhookId], { env })).code).toBe(0);
      expect(await cliJson(['webhooks', 'list'], { env })).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("openassist watch prints the fleet's run status changes as they happen", async () => {
    const home = await mkdtemp(join(tmpdir(), 'openassist-home-'));
    const env = {
      HOME: home,
      OPENASSIST_DATA_DIR: join(home, 'no-data'),
      OPENASSIST_ROOT_ACCESS_KEY_ID: '',
      OPENASSIST_ENDPOINT: server.url,
      OPENASSIST_ACCESS_KEY_ID: server.accessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: server.accessKeySecret,
    };
    try {
      // The stream starts at its opening, which the test cannot see: it runs commands until the
      // watcher has printed the end of one of them.
      const watching = cli(['watch', '--json', '--count', '3'], { env });
      let exited = false;
      void watching.then(() => {
        exited = true;
      });
      const invokeIds: string[] = [];
      await waitFor(
        'watch to print three events',
        async () => {
          if (exited) return true;
          invokeIds.push(await run('echo watched'));
          return undefined;
        },
        30_000,
      );
      const result = await watching;
      expect(result.code, result.stderr).toBe(0);
      const events = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(events).toHaveLength(3);
      for (const event of events) {
        expect(event).toMatchObject({
          Type: 'run.status',
          RegionId: 'cn-hangzhou',
          InstanceId: fleet.agent.instanceId,
        });
        expect(invokeIds).toContain(event.InvokeId);
      }
      // A run is sent once per status: no two events repeat a run's status.
      const said = events.map((event) => `${event.InvokeId}/${event.Status}`);
      expect(new Set(said).size).toBe(said.length);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('delivers after a SIGKILL and a restart what the killed server had not delivered', async () => {
    let up = false;
    const receiver = await startReceiver(() => (up ? 200 : 503));
    receivers.push(receiver);
    const id = await addWebhook(receiver.url);
    const invokeId = await run('echo before the kill');
    await finishedResult(fleet.client, invokeId);
    await waitFor('the events to wait in the outbox', async () =>
      ((await webhook(id))?.PendingCount as number) >= 2 ? true : undefined,
    );
    server.child.kill('SIGKILL');
    await new Promise((resolve) => server.child.once('exit', resolve));
    up = true;
    server = await startServerProcess({
      dataDir: server.dataDir,
      env: serverEnv,
      listen: new URL(server.url).host,
      accessKey: { id: server.accessKeyId, secret: server.accessKeySecret },
    });
    await waitFor(
      'the run.finished event after the restart',
      () =>
        receiver.accepted().some((d) => d.body.InvokeId === invokeId && d.body.Type === 'run.finished')
          ? true
          : undefined,
      30_000,
    );
    await waitFor('nothing left pending', async () =>
      (await webhook(id))?.PendingCount === 0 ? true : undefined,
    );
    expect(receiver.deliveries.every((d) => d.signed)).toBe(true);
  });
});
