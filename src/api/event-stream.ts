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

/** A client that takes nothing of its stream for this long is dropped (by default: four keep-alives). */
export const defaultStallMs = 60_000;

/**
 * The streams this server is sending, so closing the server can end them instead of waiting on
 * them; and how long a stream may stall (its client not reading) before it is dropped.
 */
export class OpenStreams {
  private readonly open = new Set<AbortController>();

  constructor(readonly stallMs: number = defaultStallMs) {}

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
 * A client that stops reading holds at most one event in the server: the next is read only once
 * the socket has taken it, keep-alives are skipped while something waits, and a stream that waits
 * longer than `open.stallMs` is dropped.
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
  // Waits for the socket to take more when it is full (a closed response counts as taken); a
  // client that does not take it in time is dropped.
  const write = (text: string): Promise<void> =>
    new Promise((resolve) => {
      if (response.destroyed || response.write(text)) return resolve();
      const stalled = setTimeout(() => {
        reply.log.warn({ requestId }, 'event stream client stopped reading; dropped');
        response.destroy();
      }, open.stallMs);
      // A server closing does not wait for a client that does not read.
      const stop = () => response.destroy();
      const done = () => {
        clearTimeout(stalled);
        controller.signal.removeEventListener('abort', stop);
        response.off('drain', done);
        response.off('close', done);
        resolve();
      };
      controller.signal.addEventListener('abort', stop);
      response.on('drain', done);
      response.on('close', done);
    });
  const keepAlive = setInterval(() => {
    // Only on an idle stream: one that still waits to be read needs no keep-alive.
    if (!response.destroyed && response.writableLength === 0) response.write(': keep-alive\n\n');
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
