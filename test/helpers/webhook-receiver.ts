import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../src/domain/webhook-events.js';

/** The secret the tests' webhooks sign with. */
export const webhookSecret = 'test-webhook-secret-0123456789';

/** One POST as the receiver saw it, and what it answered. */
export interface Delivery {
  readonly eventId: string;
  readonly body: Record<string, unknown>;
  readonly signed: boolean;
  readonly answered: number;
}

/** A real HTTP receiver; `answer` decides each request's status (undefined: never answer). */
export async function startReceiver(answer: (index: number) => number | undefined, answerAfterMs = 0) {
  const deliveries: Delivery[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = answer(deliveries.length);
      deliveries.push({
        eventId: String(request.headers['x-openassist-event-id']),
        body: JSON.parse(text) as Record<string, unknown>,
        signed: verifySignature(
          webhookSecret,
          text,
          String(request.headers['x-openassist-signature']),
          Date.now(),
        ),
        answered: status ?? 0,
      });
      if (status === undefined) hanging.push(response);
      else if (answerAfterMs === 0) response.writeHead(status).end();
      // A slow receiver widens the window in which a second sender could take the same event.
      else setTimeout(() => response.writeHead(status).end(), answerAfterMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    deliveries,
    /** Each event's answered (2xx) deliveries. */
    accepted: () => deliveries.filter((delivery) => delivery.answered >= 200 && delivery.answered < 300),
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
