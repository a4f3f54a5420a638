import { ApiError } from './errors.js';

// Both paging styles cap a page at 50 rows and default to 10 (fact sheet §6).
export const maxPageSize = 50;
export const defaultPageSize = 10;

/** Where a list starts: an offset (PageNumber/PageSize) or after a keyset cursor (MaxResults/NextToken). */
export type PageRequest =
  | { readonly style: 'page'; readonly pageNumber: number; readonly pageSize: number }
  | { readonly style: 'token'; readonly maxResults: number; readonly afterSeq: number | undefined };

export interface PagingInput {
  pageNumber?: number | undefined;
  pageSize?: number | undefined;
  maxResults?: number | undefined;
  nextToken?: string | undefined;
}

const tokenPrefix = 'oa1:';

/** NextToken is opaque to callers; inside it is the sequence number of the last row returned. */
export const encodeNextToken = (seq: number): string =>
  Buffer.from(`${tokenPrefix}${seq}`).toString('base64url');

function decodeNextToken(token: string): number {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const seq = Number(text.slice(tokenPrefix.length));
  if (!text.startsWith(tokenPrefix) || !Number.isSafeInteger(seq) || seq < 0) {
    throw new ApiError(
      'InvalidParameter.NextToken',
      'Pass the NextToken of the previous response unchanged.',
    );
  }
  return seq;
}

/** Picks the paging style; the two styles are mutually exclusive (fact sheet §6). */
export function parsePaging(input: PagingInput, maxSize: number = maxPageSize): PageRequest {
  const byPage = input.pageNumber !== undefined || input.pageSize !== undefined;
  const byToken = input.maxResults !== undefined || (input.nextToken !== undefined && input.nextToken !== '');
  if (byPage && byToken) {
    throw new ApiError(
      'InvalidParameter',
      'PageNumber/PageSize and MaxResults/NextToken are two paging styles; use one of them.',
    );
  }
  if (byToken) {
    const maxResults = input.maxResults ?? defaultPageSize;
    if (maxResults < 1 || maxResults > maxSize) {
      throw new ApiError('InvalidParameter.MaxResults', `Got ${maxResults}.`);
    }
    const afterSeq = input.nextToken ? decodeNextToken(input.nextToken) : undefined;
    return { style: 'token', maxResults, afterSeq };
  }
  const pageNumber = input.pageNumber ?? 1;
  const pageSize = input.pageSize ?? defaultPageSize;
  if (pageNumber < 1)
    throw new ApiError('InvalidParam.PageNumber', `PageNumber must be >= 1, got ${pageNumber}.`);
  if (pageSize < 1 || pageSize > maxSize) {
    throw new ApiError('InvalidParam.PageSize', `PageSize must be 1 to ${maxSize}, got ${pageSize}.`);
  }
  return { style: 'page', pageNumber, pageSize };
}

/** One page of rows, newest first, plus what the response needs to describe the page. */
export interface Page<T> {
  readonly items: T[];
  readonly totalCount: number;
  /** Set when token paging has more rows after this page. */
  readonly nextToken: string | undefined;
}
