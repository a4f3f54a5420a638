import { ApiError } from './errors.js';

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
const maxKeyLength = 64;
const maxValueLength = 128;
const hasUrl = (text: string): boolean => /https?:\/\//i.test(text);

/** Validates `Tag.N` on a create call or a Describe filter; values may be empty, keys may not. */
export function validateTags(raw: readonly RawTag[]): Tag[] {
  if (raw.length > maxTags)
    throw new ApiError('NumberExceed.Tags', `At most ${maxTags} tags, got ${raw.length}.`);
  const seen = new Set<string>();
  return raw.map(({ key, value = '' }, index) => {
    const n = index + 1;
    if (key === undefined || key === '')
      throw new ApiError('MissingParameter.TagKey', `Tag.${n}.Key is empty.`);
    if (key.length > maxKeyLength || /^(aliyun|acs:)/i.test(key) || hasUrl(key)) {
      throw new ApiError('InvalidTagKey.Malformed', `Tag.${n}.Key "${key.slice(0, 80)}" is not allowed.`);
    }
    if (value.length > maxValueLength || hasUrl(value)) {
      throw new ApiError('InvalidTagValue.Malformed', `Tag.${n}.Value is not allowed.`);
    }
    if (seen.has(key)) throw new ApiError('Duplicate.TagKey', `Tag key "${key}" is given twice.`);
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
