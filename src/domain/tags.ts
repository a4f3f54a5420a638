import { ApiError, type ErrorCode } from './errors.js';

export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** A `Tag.N` entry as it arrived: either field may be absent. */
export interface RawTag {
  readonly key?: string | undefined;
  readonly value?: string | undefined;
}

// Limits from the seed's Tag.N rows: 20 tags, key 64 characters, value 128 characters.
export const maxTags = 20;
const maxValueLength = 128;
const hasUrl = (text: string): boolean => /https?:\/\//i.test(text);

/** The limits and error codes of one tag-carrying parameter (`Tag.N`, `ResourceTag.N`). */
export interface TagRules {
  readonly name: string;
  readonly maxTags: number;
  readonly maxKeyLength: number;
  readonly codes: {
    readonly tooMany: ErrorCode;
    readonly missingKey: ErrorCode;
    readonly badKey: ErrorCode;
    readonly badValue: ErrorCode;
    readonly duplicate: ErrorCode;
  };
}

const tagCodes = {
  tooMany: 'NumberExceed.Tags',
  missingKey: 'MissingParameter.TagKey',
  badKey: 'InvalidTagKey.Malformed',
  badValue: 'InvalidTagValue.Malformed',
  duplicate: 'Duplicate.TagKey',
} as const;

export const tagRules: TagRules = { name: 'Tag', maxTags, maxKeyLength: 64, codes: tagCodes };
/** TagResources takes keys up to 128 characters (its reference page). */
export const tagResourcesRules: TagRules = { name: 'Tag', maxTags, maxKeyLength: 128, codes: tagCodes };
/** InvokeCommand's ResourceTag.N: 1-10 tags (the InvokeCommand reference). */
export const resourceTagRules: TagRules = {
  name: 'ResourceTag',
  maxTags: 10,
  maxKeyLength: 64,
  codes: {
    tooMany: 'NumberExceed.ResourceTags',
    missingKey: 'MissingParameter.ResourceTagKey',
    badKey: 'InvalidResourceTagKey.Malformed',
    badValue: 'InvalidResourceTagValue.Malformed',
    duplicate: 'Duplicate.ResourceTagKey',
  },
};

/** Validates `Tag.N` (or another tag list); values may be empty, keys may not. */
export function validateTags(raw: readonly RawTag[], rules: TagRules = tagRules): Tag[] {
  const { name, codes } = rules;
  if (raw.length > rules.maxTags) {
    throw new ApiError(codes.tooMany, `At most ${rules.maxTags} ${name}.N, got ${raw.length}.`);
  }
  const seen = new Set<string>();
  return raw.map(({ key, value = '' }, index) => {
    const n = index + 1;
    if (key === undefined || key === '') throw new ApiError(codes.missingKey, `${name}.${n}.Key is empty.`);
    if (key.length > rules.maxKeyLength || /^(aliyun|acs:)/i.test(key) || hasUrl(key)) {
      throw new ApiError(codes.badKey, `${name}.${n}.Key "${key.slice(0, 80)}" is not allowed.`);
    }
    if (value.length > maxValueLength || hasUrl(value)) {
      throw new ApiError(codes.badValue, `${name}.${n}.Value is not allowed.`);
    }
    if (seen.has(key)) throw new ApiError(codes.duplicate, `${name} key "${key}" is given twice.`);
    seen.add(key);
    return { key, value };
  });
}

/** A Describe filter tag: a key, and a value unless any value matches. */
export interface TagFilter {
  readonly key: string;
  readonly value: string | undefined;
}

/** Filters follow the same rules as tags, but an absent `Tag.N.Value` matches any value. */
export const validateTagFilters = (raw: readonly RawTag[]): TagFilter[] =>
  validateTags(raw).map((tag, index) => ({ key: tag.key, value: raw[index]?.value }));

/** ListTagResources' key for the resources of a resource group (its `Value` the group's id). */
export const resourceGroupTagKey = 'acs:rm:rgId';

/**
 * ListTagResources' `Tag.N`: tags to match, or, with the key `acs:rm:rgId`, the resource group
 * whose resources to list, which the SDK says takes no other tag.
 */
export function listTagFilters(raw: readonly RawTag[]): {
  readonly tags: TagFilter[];
  readonly resourceGroupId?: string;
} {
  const group = raw.find((tag) => tag.key === resourceGroupTagKey);
  if (group === undefined) return { tags: validateTagFilters(raw) };
  if (raw.length > 1) {
    throw new ApiError(
      'InvalidParameter',
      `Tag.N.Key=${resourceGroupTagKey} cannot be combined with other tags.`,
    );
  }
  if (!group.value) {
    throw new ApiError(
      'InvalidTagValue.Malformed',
      `Tag.1.Value must be a resource group id with ${resourceGroupTagKey}.`,
    );
  }
  return { tags: [], resourceGroupId: group.value };
}
