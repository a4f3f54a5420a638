import { parseContentEncoding } from '../../domain/content.js';
import { ApiError } from '../../domain/errors.js';
import type { InvocationInstance } from '../../domain/invocation.js';
import type { FollowEvent } from '../../service/invocation-output.js';
import type { RenderedAction, ServerSentEvent, StreamingAction } from '../action.js';
import type { Params } from '../params.js';
import { optionalTime } from '../wire.js';

/** Largest (and default) page of DescribeInvocationOutput. */
export const maxOutputPageBytes = 1024 * 1024;

function nonNegative(params: Params, name: string): number | undefined {
  const value = params.integer(name);
  if (value !== undefined && value < 0)
    throw new ApiError('InvalidParameter', `${name} must not be negative.`);
  return value;
}

/**
 * DescribeInvocationOutput (an OpenAssist extension): any byte range of one run's stored output,
 * beyond the 24 KB tail the Describe calls show. Execution absent or 0 is row 0 as
 * DescribeInvocationResults shows it without IncludeHistory (a schedule's newest run).
 */
export const describeInvocationOutput: RenderedAction = {
  name: 'DescribeInvocationOutput',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const invokeId = params.required('InvokeId');
    const instanceId = params.required('InstanceId');
    const execution = nonNegative(params, 'Execution');
    const offset = nonNegative(params, 'Offset') ?? 0;
    const length = params.integer('Length') ?? maxOutputPageBytes;
    if (length < 1 || length > maxOutputPageBytes) {
      throw new ApiError('InvalidParameter', `Length must be from 1 to ${maxOutputPageBytes}.`);
    }
    const encoding = parseContentEncoding(params.string('ContentEncoding'), 'Base64');
    const page = await services.invocations.liveOutput.read(regionId, {
      invokeId,
      instanceId,
      execution,
      offset,
      length,
    });
    return {
      InvokeId: invokeId,
      InstanceId: instanceId,
      Execution: page.run.execution,
      Offset: page.offset,
      Length: page.data.length,
      TotalBytes: page.run.outputBytes,
      DroppedBytes: page.run.droppedBytes,
      Output: encoding === 'PlainText' ? page.data.toString('utf8') : page.data.toString('base64'),
      InvocationStatus: page.run.status,
      Finished: page.finished,
    };
  },
};

/** The `status` event's data: where one run stands. */
const statusData = (run: InvocationInstance) => ({
  InstanceId: run.instanceId,
  Execution: run.execution,
  InvocationStatus: run.status,
  ...(run.exitCode !== null && { ExitCode: run.exitCode }),
  ...(run.errorCode && { ErrorCode: run.errorCode }),
  ...(run.errorInfo && { ErrorInfo: run.errorInfo }),
  ...(run.startTimeMs > 0 && { StartTime: optionalTime(run.startTimeMs) }),
  ...(run.finishTimeMs > 0 && { FinishTime: optionalTime(run.finishTimeMs) }),
  ...(run.repeats > 0 && { Repeats: run.repeats }),
});

function toWire(event: FollowEvent): ServerSentEvent {
  switch (event.type) {
    case 'status':
      return { event: 'status', data: JSON.stringify(statusData(event.run)) };
    case 'output':
      return {
        event: 'output',
        id: event.cursor,
        data: JSON.stringify({
          InstanceId: event.run.instanceId,
          Execution: event.run.execution,
          Offset: event.offset,
          Output: event.data.toString('base64'),
        }),
      };
    case 'end':
      return { event: 'end', data: JSON.stringify({ InvocationStatus: event.status }) };
  }
}

/**
 * StreamInvocationOutput (an OpenAssist extension): an invocation's run states and output as
 * Server-Sent Events, live, resumable from the `id` of the last event received (Cursor).
 */
export const streamInvocationOutput: StreamingAction = {
  name: 'StreamInvocationOutput',
  regionRequired: true,
  async stream({ params, regionId, services }, signal) {
    const invokeId = params.required('InvokeId');
    const instanceId = params.string('InstanceId') || undefined;
    const cursor = params.string('Cursor') || undefined;
    const events = await services.invocations.liveOutput.follow(
      regionId,
      { invokeId, instanceId, cursor },
      signal,
    );
    return (async function* () {
      for await (const event of events) yield toWire(event);
    })();
  },
};
