import { ApiError } from '../domain/errors.js';
import { listTagFilters, maxTags, type RawTag, tagResourcesRules, validateTags } from '../domain/tags.js';
import type { Store, TaggedResource, TaggedType } from '../store/store.js';

// The tag actions' limits (TagResources reference): 50 resources per call, 20 tags per resource.
export const tagLimits = { resources: 50, tagsPerResource: maxTags, pageSize: 50 } as const;

// The SDK's ResourceType list names many ECS types; these are the ones this server hosts.
const hosted: Record<string, TaggedType> = {
  instance: 'instance',
  managedinstance: 'instance',
  command: 'command',
  invocation: 'invocation',
  activation: 'activation',
};

export function resourceTypeOf(value: string | undefined): TaggedType {
  if (!value) throw new ApiError('MissingParameter.ResourceType');
  const type = hosted[value.toLowerCase()];
  if (!type)
    throw new ApiError('InvalidResourceType.NotFound', `This server tags ${Object.keys(hosted).join(', ')}.`);
  return type;
}

/** TagResources, UntagResources, ListTagResources over commands, invocations, instances and activations. */
export class TagService {
  constructor(private readonly store: Store) {}

  private async mustExist(regionId: string, type: TaggedType, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) throw new ApiError('MissingParameter.ResourceIds');
    const found = await this.store.tags.existing(regionId, type, ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new ApiError('InvalidResourceId.NotFound', `Not found: ${missing.slice(0, 5).join(', ')}.`);
    }
  }

  async tag(
    regionId: string,
    type: TaggedType,
    ids: readonly string[],
    raw: readonly RawTag[],
  ): Promise<void> {
    if (raw.length === 0) throw new ApiError('MissingParameter.Tags');
    const tags = validateTags(raw, tagResourcesRules);
    const unique = [...new Set(ids)];
    await this.mustExist(regionId, type, unique);
    const over = await this.store.tags.tag(type, unique, tags, tagLimits.tagsPerResource);
    if (over !== undefined) {
      throw new ApiError(
        'OperationDenied.QuotaExceed',
        `${over} would carry more than ${tagLimits.tagsPerResource} tags.`,
      );
    }
  }

  async untag(
    regionId: string,
    type: TaggedType,
    ids: readonly string[],
    keys: readonly string[],
    all: boolean,
  ): Promise<void> {
    if (all && keys.length > 0) throw new ApiError('Param.Conflict');
    const unique = [...new Set(ids)];
    await this.mustExist(regionId, type, unique);
    // Neither All nor TagKey.N removes nothing, as All's reference text implies.
    await this.store.tags.untag(type, unique, all ? 'all' : keys);
  }

  /** One page of tag rows; the page's NextToken is the offset of the next row. */
  async list(
    regionId: string,
    type: TaggedType,
    ids: readonly string[],
    rawFilters: readonly RawTag[],
    nextToken: string | undefined,
  ): Promise<{ items: TaggedResource[]; nextToken: string | undefined }> {
    if (ids.length === 0 && rawFilters.length === 0) throw new ApiError('BothEmpty.TagsAndResources');
    const { tags: filters, resourceGroupId } = listTagFilters(rawFilters);
    const offset = nextToken ? decodeOffset(nextToken) : 0;
    const rows = await this.store.tags.list(
      regionId,
      type,
      ids.length > 0 ? ids : undefined,
      filters,
      resourceGroupId,
      offset,
      tagLimits.pageSize + 1,
    );
    const items = rows.slice(0, tagLimits.pageSize);
    return { items, nextToken: rows.length > items.length ? encodeOffset(offset + items.length) : undefined };
  }
}

const tokenPrefix = 'tags:';
const encodeOffset = (offset: number): string => Buffer.from(`${tokenPrefix}${offset}`).toString('base64url');

function decodeOffset(token: string): number {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const offset = Number(text.slice(tokenPrefix.length));
  if (!text.startsWith(tokenPrefix) || !Number.isSafeInteger(offset) || offset < 0)
    throw new ApiError('Invalid.NextToken');
  return offset;
}
