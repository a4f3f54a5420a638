import { parseContentEncoding } from '../../domain/content.js';
import type { Invocation, InvocationInstance } from '../../domain/invocation.js';
import { legacyInstanceStatus } from '../../domain/invocation-status.js';
import type { Page, PageRequest } from '../../domain/paging.js';
import type { DescribeResultsInput } from '../../service/invocation-results.js';
import type { DeliveryFields } from '../../service/output-delivery.js';
import type { InvocationResult } from '../../store/store.js';
import type { Action } from '../action.js';
import type { Params } from '../params.js';
import { optionalTime, readPaging, readTags, renderPage, renderTags } from '../wire.js';
import { runFields, withExecutions, withLatest } from './run-fields.js';

/**
 * The reads DescribeInvocationResults makes: the main thread's services, or a reader thread's
 * own connection (`readers/`); both run the same code below.
 */
export interface ResultReads {
  results(regionId: string, input: DescribeResultsInput, page: PageRequest): Promise<Page<InvocationResult>>;
  latestExecutions(invokeIds: readonly string[]): Promise<Map<string, InvocationInstance>>;
  outputTails(runs: readonly InvocationInstance[]): Promise<Buffer[]>;
  deliveryFields(
    shown: readonly { readonly invocation: Invocation; readonly run: InvocationInstance }[],
  ): Promise<(DeliveryFields | undefined)[]>;
}

/** DescribeInvocationResults' response body (without RequestId) for authorized parameters. */
export async function describeInvocationResultsBody(
  params: Params,
  regionId: string,
  reads: ResultReads,
): Promise<Record<string, unknown>> {
  const page = readPaging(params);
  const includeHistory = params.boolean('IncludeHistory') ?? false;
  const result = await reads.results(
    regionId,
    {
      invokeId: params.string('InvokeId') || undefined,
      commandId: params.string('CommandId') || undefined,
      instanceId: params.string('InstanceId') || undefined,
      invokeRecordStatus: params.string('InvokeRecordStatus') || undefined,
      resourceGroupId: params.string('ResourceGroupId') || undefined,
      includeHistory,
      tags: readTags(params),
    },
    page,
  );
  const latest = includeHistory
    ? new Map<string, InvocationInstance>()
    : await reads.latestExecutions(withExecutions(result.items.map((item) => item.invocation)));
  const shown = result.items.map(({ invocation, run }) => ({ invocation, run: withLatest(run, latest) }));
  // ContentEncoding is read only when there is a row to encode, as before (an empty page never fails on it).
  const encoding =
    shown.length > 0 ? parseContentEncoding(params.string('ContentEncoding'), 'Base64') : 'Base64';
  const outputs = await reads.outputTails(shown.map(({ run }) => run));
  const deliveries = await reads.deliveryFields(shown);
  const results = shown.map(({ invocation, run }, i) =>
    runFields(run, outputs[i], encoding, {
      OssOutputDelivery: invocation.ossOutputDelivery,
      ...deliveries[i],
      FinishedTime: optionalTime(run.finishTimeMs),
      InvokeRecordStatus: legacyInstanceStatus(run.status),
      InvokeId: invocation.id,
      CommandId: invocation.commandId,
      Username: invocation.username,
      Launcher: invocation.launcher,
      ContainerId: invocation.containerId,
      ContainerName: invocation.containerName,
      TerminationMode: invocation.terminationMode,
      Tags: renderTags(invocation.tags),
    }),
  );
  // Unlike other lists, this response nests its paging fields inside `Invocation`.
  return { Invocation: { ...renderPage(page, result), InvocationResults: { InvocationResult: results } } };
}

export const describeInvocationResults: Action = {
  name: 'DescribeInvocationResults',
  regionRequired: true,
  // Reader threads answer it on SQLite (docs/reader-threads.md); this is the main thread's way.
  offloadable: true,
  handle({ params, regionId, services }) {
    return describeInvocationResultsBody(params, regionId, {
      results: (region, input, page) => services.invocations.results(region, input, page),
      latestExecutions: (ids) => services.invocations.latestExecutions(ids),
      outputTails: (runs) => services.invocations.outputTails(runs),
      deliveryFields: (shown) => services.outputDelivery.fields(shown),
    });
  },
};
