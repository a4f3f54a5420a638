// Runs unchanged in Node 20 and in the browser console: fetch, TextDecoder and Web Crypto only.
import { ApiCallError, reach } from './api.js';
import { type Credentials, signCall } from './sign.js';
import { delay, errorOf, sseMessages } from './stream.js';

/** A run status change as StreamInvocationEvents sends it (docs/webhooks.md). */
export interface FleetEventData {
  readonly Type: 'run.status';
  readonly RegionId: string;
  readonly ResourceGroupId: string;
  readonly CommandId: string;
  readonly InvokeId: string;
  readonly InstanceId: string;
  readonly Execution: number;
  readonly Status: string;
  readonly ExitCode: number | null;
  readonly ErrorCode: string;
  readonly UpdateTime: string;
}

export interface WatchOptions {
  readonly regionId: string;
  readonly resourceGroupId?: string;
  readonly signal?: AbortSignal;
  readonly maxRetries?: number;
}

/**
 * Every run status change of the region from now on (StreamInvocationEvents), until `signal`
 * aborts. A dropped connection is opened again; what happened meanwhile is not replayed.
 */
export async function* watchFleet(
  credentials: Credentials,
  options: WatchOptions,
): AsyncGenerator<FleetEventData, void, undefined> {
  const action = 'StreamInvocationEvents';
  const maxRetries = options.maxRetries ?? 5;
  let failures = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    const params = new Map([['RegionId', options.regionId]]);
    if (options.resourceGroupId) params.set('ResourceGroupId', options.resourceGroupId);
    let failure: unknown;
    try {
      const { url, headers } = await signCall(credentials, action, params);
      const response = await reach(url, {
        method: 'POST',
        headers,
        ...(options.signal && { signal: options.signal }),
      });
      if (response.status !== 200 || !response.body) throw await errorOf(response, action);
      for await (const message of sseMessages(response.body)) {
        if (message.event !== 'run') continue;
        failures = 0;
        yield JSON.parse(message.data) as FleetEventData;
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      if (error instanceof ApiCallError && error.status < 500) throw error;
      failure = error;
    }
    failures++;
    if (failures > maxRetries)
      throw failure ?? new Error(`${action}: the stream kept ending (${maxRetries} retries)`);
    await delay(Math.min(500 * 2 ** (failures - 1), 10_000), options.signal);
  }
}
