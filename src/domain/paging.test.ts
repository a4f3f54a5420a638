import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../test/helpers/error-code.js';
import { encodeNextToken, parsePaging } from './paging.js';

const codeOf = errorCodeOf;

describe('paging: PageNumber/PageSize or MaxResults/NextToken (max 50, default 10)', () => {
  it('defaults to the first page of 10', () => {
    expect(parsePaging({})).toEqual({ style: 'page', pageNumber: 1, pageSize: 10 });
  });

  it('reads token paging and round-trips the token', () => {
    expect(parsePaging({ maxResults: 50 })).toEqual({ style: 'token', maxResults: 50, afterSeq: undefined });
    expect(parsePaging({ nextToken: encodeNextToken(42) })).toEqual({
      style: 'token',
      maxResults: 10,
      afterSeq: 42,
    });
  });

  it('refuses mixing, bounds and forged tokens', () => {
    expect(codeOf(() => parsePaging({ pageSize: 1, maxResults: 1 }))).toBe('InvalidParameter');
    expect(codeOf(() => parsePaging({ pageNumber: 2, nextToken: encodeNextToken(1) }))).toBe(
      'InvalidParameter',
    );
    expect(codeOf(() => parsePaging({ pageSize: 0 }))).toBe('InvalidParam.PageSize');
    expect(codeOf(() => parsePaging({ pageSize: 51 }))).toBe('InvalidParam.PageSize');
    expect(codeOf(() => parsePaging({ pageNumber: -1 }))).toBe('InvalidParam.PageNumber');
    expect(codeOf(() => parsePaging({ maxResults: 0 }))).toBe('InvalidParameter.MaxResults');
    expect(codeOf(() => parsePaging({ nextToken: 'abc' }))).toBe('InvalidParameter.NextToken');
    expect(codeOf(() => parsePaging({ nextToken: Buffer.from('oa1:-5').toString('base64url') }))).toBe(
      'InvalidParameter.NextToken',
    );
  });
});
