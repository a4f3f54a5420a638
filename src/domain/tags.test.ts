import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../test/helpers/error-code.js';
import { listTagFilters, validateTagFilters, validateTags } from './tags.js';

const codeOf = errorCodeOf;

describe('Tag.N rules (seed: 20 tags, key 64, value 128, no aliyun/acs: prefix, no URLs)', () => {
  it('accepts keys and values at their limits; an absent value is empty', () => {
    expect(validateTags([{ key: 'k'.repeat(64), value: 'v'.repeat(128) }, { key: 'b' }])).toEqual([
      { key: 'k'.repeat(64), value: 'v'.repeat(128) },
      { key: 'b', value: '' },
    ]);
  });

  it('refuses each broken rule with its code', () => {
    expect(codeOf(() => validateTags(Array.from({ length: 21 }, (_, i) => ({ key: `k${i}` }))))).toBe(
      'NumberExceed.Tags',
    );
    expect(codeOf(() => validateTags([{ value: 'v' }]))).toBe('MissingParameter.TagKey');
    expect(codeOf(() => validateTags([{ key: '' }]))).toBe('MissingParameter.TagKey');
    expect(codeOf(() => validateTags([{ key: 'k'.repeat(65) }]))).toBe('InvalidTagKey.Malformed');
    expect(codeOf(() => validateTags([{ key: 'Aliyun-x' }]))).toBe('InvalidTagKey.Malformed');
    expect(codeOf(() => validateTags([{ key: 'acs:x' }]))).toBe('InvalidTagKey.Malformed');
    expect(codeOf(() => validateTags([{ key: 'a http://b' }]))).toBe('InvalidTagKey.Malformed');
    expect(codeOf(() => validateTags([{ key: 'k', value: 'https://x' }]))).toBe('InvalidTagValue.Malformed');
    expect(codeOf(() => validateTags([{ key: 'k', value: 'v'.repeat(129) }]))).toBe(
      'InvalidTagValue.Malformed',
    );
    expect(codeOf(() => validateTags([{ key: 'k' }, { key: 'k' }]))).toBe('Duplicate.TagKey');
  });

  it('keeps an absent filter value as "any value"', () => {
    expect(validateTagFilters([{ key: 'a' }, { key: 'b', value: '' }])).toEqual([
      { key: 'a', value: undefined },
      { key: 'b', value: '' },
    ]);
  });
});

describe('ListTagResources filters', () => {
  it('takes acs:rm:rgId alone, with a group id, as the resources of that group', () => {
    expect(listTagFilters([{ key: 'acs:rm:rgId', value: 'rg-1' }])).toEqual({
      tags: [],
      resourceGroupId: 'rg-1',
    });
    expect(listTagFilters([{ key: 'env' }])).toEqual({ tags: [{ key: 'env', value: undefined }] });
    expect(errorCodeOf(() => listTagFilters([{ key: 'acs:rm:rgId', value: 'rg-1' }, { key: 'env' }]))).toBe(
      'InvalidParameter',
    );
    expect(errorCodeOf(() => listTagFilters([{ key: 'acs:rm:rgId' }]))).toBe('InvalidTagValue.Malformed');
    // Any other acs: key stays refused.
    expect(errorCodeOf(() => listTagFilters([{ key: 'acs:other', value: 'x' }]))).toBe(
      'InvalidTagKey.Malformed',
    );
  });
});
