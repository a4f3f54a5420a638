import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import {
  type FileUpload,
  fileUploadLimits,
  isEveryByteIn,
  parseRangeStart,
  placePart,
  validateUploadRequest,
} from './file-upload.js';

const sha = 'a'.repeat(64);

const upload = (receivedBytes: number, sizeBytes = 100): FileUpload => ({
  id: 'up-1',
  regionId: 'cn-hangzhou',
  owner: 'LTAIkey',
  sizeBytes,
  sha256: sha,
  receivedBytes,
  state: 'Uploading',
  invokeId: '',
  createdAtMs: 0,
});

const codeOf = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return 'none';
};

describe('validateUploadRequest', () => {
  it('takes a size within the bound and a SHA-256 in either case', () => {
    expect(validateUploadRequest(10, sha.toUpperCase(), 10)).toEqual({ sizeBytes: 10, sha256: sha });
  });

  it.each([
    [undefined, sha, 'MissingParameter'],
    [0, sha, 'InvalidParameter'],
    [-1, sha, 'InvalidParameter'],
    [1.5, sha, 'InvalidParameter'],
    [11, sha, 'InvalidFileSize.ExceedLimit'],
    [10, undefined, 'MissingParameter'],
    [10, '', 'MissingParameter'],
    [10, 'a'.repeat(63), 'InvalidSha256.Malformed'],
    [10, 'g'.repeat(64), 'InvalidSha256.Malformed'],
  ])('refuses size %s with sha %s as %s', (size, hash, code) => {
    expect(codeOf(() => validateUploadRequest(size, hash, 10))).toBe(code);
  });
});

describe('placePart: the upload state machine', () => {
  it('appends a part at the received offset', () => {
    expect(placePart(upload(0), 0, 40)).toEqual({ append: true, skip: 0 });
    expect(placePart(upload(40), 40, 60)).toEqual({ append: true, skip: 0 });
  });

  it('accepts a repeated part without change, and the new tail of a part partly held', () => {
    expect(placePart(upload(40), 0, 40)).toEqual({ append: false });
    expect(placePart(upload(40), 10, 20)).toEqual({ append: false });
    expect(placePart(upload(40), 20, 40)).toEqual({ append: true, skip: 20 });
    expect(placePart(upload(100), 60, 40)).toEqual({ append: false });
  });

  it('refuses a gap, a part past the size, an empty part and an oversized one', () => {
    expect(codeOf(() => placePart(upload(40), 41, 10))).toBe('InvalidUploadOffset.Mismatch');
    expect(codeOf(() => placePart(upload(40), 40, 61))).toBe('InvalidUploadOffset.Mismatch');
    expect(codeOf(() => placePart(upload(40), 40, 0))).toBe('InvalidParameter');
    expect(codeOf(() => placePart(upload(40), -5, 10))).toBe('InvalidParameter');
    const big = fileUploadLimits.partBytes + 1;
    expect(codeOf(() => placePart(upload(0, 10 * big), 0, big))).toBe('RequestTooLarge');
  });

  it('says when every byte is in', () => {
    expect(isEveryByteIn(upload(99))).toBe(false);
    expect(isEveryByteIn(upload(100))).toBe(true);
  });
});

describe('parseRangeStart', () => {
  it('reads bytes=N- and nothing else', () => {
    expect(parseRangeStart(undefined, 10)).toBeUndefined();
    expect(parseRangeStart('', 10)).toBeUndefined();
    expect(parseRangeStart('bytes=0-', 10)).toBe(0);
    expect(parseRangeStart(' bytes=9- ', 10)).toBe(9);
  });

  it.each([
    'bytes=10-',
    'bytes=0-5',
    'bytes=-5',
    'bytes=1-,3-',
    'items=0-',
    'bytes=x-',
    'bytes=99999999999999999-',
  ])('answers %s with InvalidRange', (header) => {
    expect(codeOf(() => parseRangeStart(header, 10))).toBe('InvalidRange');
  });
});
