import { ApiError } from '../../domain/errors.js';
import { maxTags } from '../../domain/tags.js';
import { resourceTypeOf, tagLimits } from '../../service/tags.js';
import type { Action } from '../action.js';
import type { Params } from '../params.js';
import { readTags } from '../wire.js';

const readResourceIds = (params: Params) =>
  params.list(
    'ResourceId',
    tagLimits.resources,
    () => new ApiError('NumberExceed.ResourceIds'),
    () => new ApiError('MissingParameter.ResourceIds', 'A ResourceId.N is empty.'),
  );

export const tagResources: Action = {
  name: 'TagResources',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const type = resourceTypeOf(params.string('ResourceType'));
    await services.tags.tag(regionId, type, readResourceIds(params), readTags(params));
    return {};
  },
};

export const untagResources: Action = {
  name: 'UntagResources',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const type = resourceTypeOf(params.string('ResourceType'));
    const keys = params.list(
      'TagKey',
      maxTags,
      () => new ApiError('NumberExceed.Tags'),
      () => new ApiError('InvalidTagKey.Malformed', 'A TagKey.N is empty.'),
    );
    await services.tags.untag(regionId, type, readResourceIds(params), keys, params.boolean('All') ?? false);
    return {};
  },
};

export const listTagResources: Action = {
  name: 'ListTagResources',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const type = resourceTypeOf(params.string('ResourceType'));
    const page = await services.tags.list(
      regionId,
      type,
      readResourceIds(params),
      readTags(params),
      params.string('NextToken') || undefined,
    );
    return {
      ...(page.nextToken && { NextToken: page.nextToken }),
      TagResources: {
        TagResource: page.items.map((row) => ({
          ResourceId: row.resourceId,
          ResourceType: row.resourceType,
          TagKey: row.key,
          TagValue: row.value,
        })),
      },
    };
  },
};
