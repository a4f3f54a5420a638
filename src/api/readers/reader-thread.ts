import { parentPort, workerData } from 'node:worker_threads';
import { defaultRetrySchedule } from '../../domain/output-delivery.js';
import { listInvocationResults } from '../../service/invocation-results.js';
import { OutputDeliveryService } from '../../service/output-delivery.js';
import { openSqliteReader } from '../../store/sqlite.js';
import { describeInvocationResultsBody, type ResultReads } from '../actions/invocation-results.js';
import { Params } from '../params.js';
import { renderBody } from '../render.js';
import type { ReadCall, ReaderThreadData } from './reader-messages.js';
import { replyOfError } from './reader-messages.js';

// A reader thread (docs/reader-threads.md): its own read-only connection, the same action code
// as the main thread, the answer rendered here so the main thread only sends it.
const data = workerData as ReaderThreadData;
const port = parentPort;
if (!port) throw new Error('reader-thread.js runs as a worker thread');
const reader = openSqliteReader(data.databasePath, data.cacheKiB);
const { store } = reader;
// Only its read of delivery rows is used here: no object storage, no job.
const deliveries = new OutputDeliveryService(store, undefined, Date.now, defaultRetrySchedule());
const reads: ResultReads = {
  results: (regionId, input, page) => listInvocationResults(store, regionId, input, page),
  latestExecutions: (ids) => store.invocations.latestExecutions(ids),
  outputTails: (runs) => store.invocations.outputTails(runs, data.shownBytes),
  deliveryFields: (shown) => deliveries.fields(shown),
};

/** The actions a reader thread answers: each the same body builder its action's `handle` runs. */
const bodies: Record<string, (params: Params, regionId: string) => Promise<Record<string, unknown>>> = {
  DescribeInvocationResults: (params, regionId) => describeInvocationResultsBody(params, regionId, reads),
};

const utf8 = new TextEncoder();

async function serve(call: ReadCall): Promise<void> {
  try {
    const build = bodies[call.action];
    if (!build) throw new Error(`no reader for ${call.action}`);
    // The snapshot starts after the call arrived: every commit the client was answered for is in it.
    const answer = await reader.snapshot(() => build(new Params(new Map(call.params)), call.regionId));
    const { type, text } = renderBody(
      `${call.action}Response`,
      Object.assign({ RequestId: call.requestId }, answer),
      call.format,
    );
    const body = utf8.encode(text);
    port?.postMessage({ id: call.id, type, body }, [body.buffer]);
  } catch (error) {
    port?.postMessage(replyOfError(call.id, error));
  }
}

// One call at a time: a call's read transaction must not interleave with the next one's.
let queue = Promise.resolve();
port.on('message', (call: ReadCall) => {
  queue = queue.then(() => serve(call));
});
