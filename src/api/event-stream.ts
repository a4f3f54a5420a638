import type { FastifyReply } from 'fastify';
import type { ServerSentEvent } from './action.js';

/** A comment line this often keeps proxies and clients from timing an idle stream out. */
export const keepAliveMs = 15_000;

/** One event in Server-Sent Events framing. Data is a single line (JSON); ids carry no line breaks. */
export function sseFrame(event: ServerSentEvent): string {
  let frame = '';
  if (event.event !== undefined) frame += `event: ${event.event}\n`;
  if (event.id !== undefined) frame += `id: ${event.id}\n`;
  for (const line of event.data.split('\n')) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

/** The streams this server is sending, so closing the server can end them instead of waiting on them. */
export class OpenStreams {
  private readonly open = new Set<AbortController>();

  add(controller: AbortController): void {
    this.open.add(controller);
  }

  delete(controller: AbortController): void {
    this.open.delete(controller);
  }

  endAll(): void {
    for (const controller of this.open) controller.abort();
  }

  get size(): number {
    return this.open.size;
  }
}

/**
 * Answers 200 `text/event-stream` and sends `events` as they come, with a keep-alive comment every
 * 15 s, until they end, the client disconnects, or the server closes (`controller` aborts). Resolves
 * once the response has ended; nothing is left behind (timer, listeners, registration).
 */
export async function sendEventStream(
  reply: FastifyReply,
  requestId: string,
  events: AsyncIterable<ServerSentEvent>,
  controller: AbortController,
  open: OpenStreams,
): Promise<void> {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    'x-acs-request-id': requestId,
  });
  response.flushHeaders();
  const abort = () => controller.abort();
  response.on('close', abort);
  open.add(controller);
  // Waits for the socket to take more when it is full; a closed response counts as taken.
  const write = (text: string): Promise<void> =>
    new Promise((resolve) => {
      if (response.destroyed || response.write(text)) return resolve();
      const done = () => {
        response.off('drain', done);
        response.off('close', done);
        resolve();
      };
      response.on('drain', done);
      response.on('close', done);
    });
  const keepAlive = setInterval(() => {
    if (!response.destroyed) response.write(': keep-alive\n\n');
  }, keepAliveMs);
  try {
    for await (const event of events) {
      if (controller.signal.aborted) break;
      await write(sseFrame(event));
    }
  } catch (error) {
    // The client resumes from its last cursor; the cause is only logged.
    reply.log.error({ err: error }, 'event stream failed');
  } finally {
    clearInterval(keepAlive);
    response.off('close', abort);
    open.delete(controller);
    controller.abort();
    if (!response.writableEnded) response.end();
  }
}
