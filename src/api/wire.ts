import { ApiError } from '../domain/errors.js';
import type { Page, PageRequest } from '../domain/paging.js';
import { parsePaging } from '../domain/paging.js';
import { maxTags, type RawTag, type Tag } from '../domain/tags.js';
import type { Params } from './params.js';

/** Shared wire shapes: tags, times, paging. */

export const readTags = (params: Params, name = 'Tag'): RawTag[] =>
  params
    .objects(
      name,
      ['Key', 'Value'],
      maxTags,
      () => new ApiError('NumberExceed.Tags', `At most ${maxTags} ${name}.N.`),
    )
    .map((entry) => ({ key: entry.Key, value: entry.Value }));

/** Alibaba's tag shape in responses: `Tags: { Tag: [{ TagKey, TagValue }] }`. */
export const renderTags = (tags: readonly Tag[]) => ({
  Tag: tags.map((tag) => ({ TagKey: tag.key, TagValue: tag.value })),
});

/** Alibaba's time format: UTC, seconds precision, `2020-01-21T06:51:45Z`. */
export const isoTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export const readPaging = (params: Params): PageRequest =>
  parsePaging({
    pageNumber: params.integer('PageNumber', 'InvalidParam.PageNumber'),
    pageSize: params.integer('PageSize', 'InvalidParam.PageSize'),
    maxResults: params.integer('MaxResults', 'InvalidParameter.MaxResults'),
    nextToken: params.string('NextToken'),
  });

/** The paging fields of a list response, in the style the request used. */
export function renderPage(page: PageRequest, result: Page<unknown>): Record<string, unknown> {
  if (page.style === 'page') {
    return { TotalCount: result.totalCount, PageNumber: page.pageNumber, PageSize: page.pageSize };
  }
  return { TotalCount: result.totalCount, ...(result.nextToken && { NextToken: result.nextToken }) };
}
