// Runs unchanged in Node 20 and in the browser console: fetch, TextDecoder and Web Crypto only.
import { ApiCallError, invoke, reach, responseBody } from './api.js';
import { type Credentials, signCall } from './sign.js';

/** One Server-Sent Event as received: its name (`message` when unnamed), data, and the last id seen. */
export interface SseMessage {
  readonly event: string;
  readonly data: string;
  readonly lastEventId: string;
}

/**
 * An incremental Server-Sent Events parser (the WHATWG grammar): push text as it arrives, get
 * the complete events. Comments (`: keep-alive`) and `retry` are ignored; `id` persists.
 */
export class SseParser {
  private pending = '';
  private event = '';
  private data: string[] = [];
  private lastEventId = '';

  push(text: string): SseMessage[] {
    this.pending += text;
    const out: SseMessage[] = [];
    for (;;) {
      const end = this.pending.search(/\r\n|\r|\n/);
      if (end < 0) break;
      // A lone \r at the end may be half of \r\n: wait for the next chunk.
      if (this.pending[end] === '\r' && end === this.pending.length - 1) break;
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + (this.pending.startsWith('\r\n', end) ? 2 : 1));
      const message = this.line(line);
      if (message) out.push(message);
    }
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') {
      const message =
        this.data.length > 0
          ? { event: this.event || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId }
          : undefined;
      this.event = '';
      this.data = [];
      return message;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    return undefined;
  }
}

export interface RunStatusData {
  readonly InstanceId: string;
  readonly Execution: number;
  readonly InvocationStatus: string;
  readonly ExitCode?: number;
  readonly ErrorCode?: string;
  readonly ErrorInfo?: string;
  readonly StartTime?: string;
  readonly FinishTime?: string;
  readonly Repeats?: number;
}

export interface OutputData {
  readonly InstanceId: string;
  readonly Execution: number;
  readonly Offset: number;
  /** Base64. */
  readonly Output: string;
}

/** An event of StreamInvocationOutput; `cursor` resumes right after it (undefined before any output). */
export type InvocationEvent =
  | { readonly type: 'status'; readonly data: RunStatusData; readonly cursor: string | undefined }
  | { readonly type: 'output'; readonly data: OutputData; readonly cursor: string | undefined }
  | {
      readonly type: 'end';
      readonly data: { readonly InvocationStatus: string };
      readonly cursor: string | undefined;
    };

export interface FollowOptions {
  readonly invokeId: string;
  readonly instanceId?: string;
  /** Resume after the event that carried this id. */
  readonly cursor?: string;
  readonly signal?: AbortSignal;
  readonly regionId?: string;
  /** Reconnections in a row without an event before giving up (default 5). */
  readonly maxRetries?: number;
  /** First reconnection delay, doubled each time up to 10 s (default 500 ms). */
  readonly retryDelayMs?: number;
}

const defaultRegion = 'cn-hangzhou';

export const delay = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * The Server-Sent Events of a response's body as they arrive; leaving early (the consumer stopped)
 * cancels the body, so the connection is not left open.
 */
export async function* sseMessages(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<SseMessage, void, undefined> {
  const reader = body.getReader();
  const parser = new SseParser();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export async function errorOf(response: Response, action: string): Promise<ApiCallError> {
  const text = await response.text();
  const body = responseBody(text);
  return new ApiCallError(
    action,
    response.status,
    String(body.Code),
    String(body.Message),
    String(body.RequestId ?? ''),
  );
}

/**
 * Follows an invocation live (StreamInvocationOutput): yields status, output and end events. A
 * dropped connection is resumed from the last cursor, so output is neither repeated nor lost
 * (status events are sent again on each connection: they are states, not increments). Ends after
 * `end`, or quietly when `signal` aborts; an error answer of the API throws ApiCallError.
 */
export async function* followInvocation(
  credentials: Credentials,
  options: FollowOptions,
): AsyncGenerator<InvocationEvent, void, undefined> {
  const action = 'StreamInvocationOutput';
  const maxRetries = options.maxRetries ?? 5;
  let cursor = options.cursor;
  let failures = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    const params = new Map([
      ['RegionId', options.regionId ?? defaultRegion],
      ['InvokeId', options.invokeId],
    ]);
    if (options.instanceId) params.set('InstanceId', options.instanceId);
    if (cursor) params.set('Cursor', cursor);
    let failure: unknown;
    try {
      const { url, headers } = await signCall(credentials, action, params);
      const response = await reach(url, {
        method: 'POST',
        headers,
        ...(options.signal && { signal: options.signal }),
      });
      if (response.status >= 400 && response.status < 500) throw await errorOf(response, action);
      if (response.status !== 200 || !response.body) throw await errorOf(response, action);
      for await (const message of sseMessages(response.body)) {
        if (message.event !== 'status' && message.event !== 'output' && message.event !== 'end') continue;
        if (message.lastEventId) cursor = message.lastEventId;
        failures = 0;
        // The server's own stream: its data has the documented shape of its event type (docs/streaming.md).
        const event = { type: message.event, data: JSON.parse(message.data), cursor } as InvocationEvent;
        yield event;
        if (event.type === 'end') return;
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      if (error instanceof ApiCallError && error.status < 500) throw error;
      failure = error;
    }
    // The stream ended without `end`, or the connection failed: resume from the cursor.
    failures++;
    if (failures > maxRetries) {
      throw failure ?? new Error(`${action}: the stream kept ending early (${maxRetries} retries)`);
    }
    await delay(Math.min((options.retryDelayMs ?? 500) * 2 ** (failures - 1), 10_000), options.signal);
  }
}

const base64ToBytes = (base64: string): Uint8Array => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

interface OutputPage {
  readonly Execution: number;
  readonly Length: number;
  readonly Output: string;
  readonly Finished: boolean;
}

/**
 * The whole stored output of one run (DescribeInvocationOutput, 1 MiB a page). Execution absent
 * or 0: as DescribeInvocationResults shows row 0 (a schedule's newest run, pinned at the first page).
 */
export async function downloadOutput(
  credentials: Credentials,
  invokeId: string,
  instanceId: string,
  execution?: number,
  regionId = defaultRegion,
): Promise<Uint8Array> {
  const pages: Uint8Array[] = [];
  let offset = 0;
  let pinned = execution;
  for (;;) {
    const page = await invoke<OutputPage>(credentials, 'DescribeInvocationOutput', {
      RegionId: regionId,
      InvokeId: invokeId,
      InstanceId: instanceId,
      Execution: pinned,
      Offset: offset,
    });
    pinned = page.Execution;
    pages.push(base64ToBytes(page.Output));
    offset += page.Length;
    if (page.Finished || page.Length === 0) break;
  }
  const whole = new Uint8Array(offset);
  let at = 0;
  for (const page of pages) {
    whole.set(page, at);
    at += page.length;
  }
  return whole;
}
