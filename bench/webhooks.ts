import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAgentProcess } from '../test/helpers/agent-process.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { apiOf, summary } from './stats.js';

export type WebhookCase = 'no webhook' | 'answering receiver' | 'receiver that never answers';

export interface WebhookRow {
  readonly case: WebhookCase;
  /** One InvokeCommand at a time: what a caller waits. */
  readonly invokeMs: { p50: number; p99: number; max: number };
  /** InvokeCommands answered per second with `parallel` callers. */
  readonly invokesPerSecond: number;
  readonly parallel: number;
  /** POSTs the receiver got while the case ran. */
  readonly posts: number;
}

/** A local receiver: answers 204 at once, or holds every request open. */
async function receiver(answers: boolean) {
  let posts = 0;
  const held: ServerResponse[] = [];
  const server: Server = createServer((request, response) => {
    posts += 1;
    request.resume();
    request.on('end', () => (answers ? response.writeHead(204).end() : held.push(response)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    posts: () => posts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of held) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * InvokeCommand with no webhook, with a receiver that answers, and with one that never answers
 * (each POST waits for its timeout): a fresh server and one real agent per case, so every run's
 * end writes events into the outbox while the calls are measured.
 */
export async function measureWebhooks(quick: boolean, log: (line: string) => void): Promise<WebhookRow[]> {
  const sequential = quick ? 40 : 200;
  const parallel = 8;
  const rateSeconds = quick ? 3 : 10;
  const rows: WebhookRow[] = [];
  for (const name of ['no webhook', 'answering receiver', 'receiver that never answers'] as const) {
    const server = await startServerProcess({ env: { OPENASSIST_LOG_LEVEL: 'warn' } });
    const call = apiOf(server);
    const sink = name === 'no webhook' ? undefined : await receiver(name === 'answering receiver');
    const activation = await call('CreateActivation', { InstanceCount: '1' });
    const agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: String(activation.ActivationId),
      activationCode: String(activation.ActivationCode),
    });
    try {
      if (sink) await call('CreateWebhook', { Url: sink.url, Secret: 'bench-webhook-secret-0123' });
      const command = await call('CreateCommand', {
        Name: 'webhook-bench',
        Type: 'RunShellScript',
        ContentEncoding: 'PlainText',
        CommandContent: 'echo hi',
      });
      const invoke = () =>
        call('InvokeCommand', { CommandId: String(command.CommandId), 'InstanceId.1': agent.instanceId });
      const waits: number[] = [];
      for (let i = 0; i < sequential; i++) {
        const started = performance.now();
        await invoke();
        waits.push(performance.now() - started);
      }
      let answered = 0;
      const until = performance.now() + rateSeconds * 1000;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (performance.now() < until) {
            await invoke();
            answered += 1;
          }
        }),
      );
      const row = {
        case: name,
        invokeMs: summary(waits),
        invokesPerSecond: Math.round(answered / rateSeconds),
        parallel,
        posts: sink?.posts() ?? 0,
      };
      log(
        `webhooks, ${name}: InvokeCommand p50 ${row.invokeMs.p50} ms, p99 ${row.invokeMs.p99} ms; ` +
          `${row.invokesPerSecond}/s with ${parallel} callers; ${row.posts} POSTs received`,
      );
      rows.push(row);
    } finally {
      await agent.stop();
      await server.stop();
      await sink?.close();
    }
  }
  return rows;
}
