import type { CreateCommandInput } from '../domain/command.js';
import type { ContentEncoding } from '../domain/content.js';
import { ApiError } from '../domain/errors.js';
import { type InvokeInput, invokeLimits } from '../domain/invocation.js';
import type { Page, PageRequest } from '../domain/paging.js';
import { parsePaging } from '../domain/paging.js';
import { type RawTag, resourceTagRules, type Tag, type TagRules, tagRules } from '../domain/tags.js';
import type { Params } from './params.js';

/** Shared wire shapes: tags, times, paging. */

export const readTags = (params: Params, rules: TagRules = tagRules): RawTag[] =>
  params
    .objects(
      rules.name,
      ['Key', 'Value'],
      rules.maxTags,
      () => new ApiError(rules.codes.tooMany, `At most ${rules.maxTags} ${rules.name}.N.`),
    )
    .map((entry) => ({ key: entry.Key, value: entry.Value }));

/** Alibaba's tag shape in responses: `Tags: { Tag: [{ TagKey, TagValue }] }`. */
export const renderTags = (tags: readonly Tag[]) => ({
  Tag: tags.map((tag) => ({ TagKey: tag.key, TagValue: tag.value })),
});

/** Alibaba's time format: UTC, seconds precision, `2020-01-21T06:51:45Z`. */
export const isoTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export const readPaging = (params: Params, maxSize?: number): PageRequest =>
  parsePaging(
    {
      pageNumber: params.integer('PageNumber', 'InvalidParam.PageNumber'),
      pageSize: params.integer('PageSize', 'InvalidParam.PageSize'),
      maxResults: params.integer('MaxResults', 'InvalidParameter.MaxResults'),
      nextToken: params.string('NextToken'),
    },
    maxSize,
  );

/** The paging fields of a list response, in the style the request used. */
export function renderPage(page: PageRequest, result: Page<unknown>): Record<string, unknown> {
  if (page.style === 'page') {
    return { TotalCount: result.totalCount, PageNumber: page.pageNumber, PageSize: page.pageSize };
  }
  return { TotalCount: result.totalCount, ...(result.nextToken && { NextToken: result.nextToken }) };
}

/**
 * `InstanceId.N`, at most `max`; more is `InstanceIds.ExceedLimit`, an empty one
 * `MissingParam.InstanceId` (the seed: "missing or empty"), both checked before existence.
 */
export const readInstanceIds = (params: Params, max: number): string[] =>
  params.list(
    'InstanceId',
    max,
    () => new ApiError('InstanceIds.ExceedLimit', `At most ${max} InstanceId.N.`),
    () => new ApiError('MissingParam.InstanceId', 'An InstanceId.N is empty.'),
  );

/** The invoke half shared by InvokeCommand and RunCommand. */
export const readInvokeInput = (params: Params): InvokeInput => ({
  instanceIds: readInstanceIds(params, invokeLimits.instances),
  repeatMode: params.string('RepeatMode'),
  frequency: params.string('Frequency'),
  parameters: params.string('Parameters'),
  username: params.string('Username'),
  windowsPasswordName: params.string('WindowsPasswordName'),
  workingDir: params.string('WorkingDir'),
  timeoutSeconds: params.integer('Timeout', 'InvalidParameter.Timeout'),
  terminationMode: params.string('TerminationMode'),
  containerId: params.string('ContainerId'),
  containerName: params.string('ContainerName'),
  launcher: params.string('Launcher'),
  resourceGroupId: params.string('ResourceGroupId'),
  clientToken: params.string('ClientToken'),
  tags: readTags(params),
  resourceTags: readTags(params, resourceTagRules),
  maxConcurrency: params.string('MaxConcurrency'),
  maxErrors: params.string('MaxErrors'),
  ossOutputDelivery: params.string('OssOutputDelivery'),
});

/** A time field that may be unset: Alibaba leaves it empty. */
export const optionalTime = (ms: number): string => (ms > 0 ? isoTime(ms) : '');

/** A filter parameter read through `read`; absent or empty: no filter. */
export const optional = <T>(value: string | undefined, read: (value: string) => T): T | undefined =>
  value === undefined || value === '' ? undefined : read(value);

/** The command fields CreateCommand and RunCommand share. */
export const readCommandInput = (
  params: Params,
  contentEncoding: ContentEncoding,
  tags: readonly RawTag[],
): CreateCommandInput => ({
  name: params.string('Name'),
  description: params.string('Description'),
  type: params.string('Type'),
  content: params.string('CommandContent'),
  contentEncoding,
  workingDir: params.string('WorkingDir'),
  timeoutSeconds: params.integer('Timeout', 'InvalidParameter.Timeout'),
  enableParameter: params.boolean('EnableParameter'),
  launcher: params.string('Launcher'),
  resourceGroupId: params.string('ResourceGroupId'),
  clientToken: params.string('ClientToken'),
  tags,
});
