import { describe, expect, it } from 'vitest';
import { UploadError, uploadError } from './object-storage.js';

describe("a failed upload's code and message", () => {
  it("is the storage's own code for an answer of the storage", () => {
    const answer = Object.assign(new Error('The specified bucket does not exist'), {
      name: 'NoSuchBucket',
      $metadata: { httpStatusCode: 404 },
    });
    expect(uploadError(answer)).toMatchObject({
      code: 'NoSuchBucket',
      message: 'The specified bucket does not exist',
    });
  });

  it('is ConnectionFailed when the storage cannot be reached, naming the cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(uploadError(refused)).toMatchObject({
      code: 'ConnectionFailed',
      message: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9',
    });
  });

  it('is UploadFailed otherwise, its message cut to 200 characters', () => {
    const error = uploadError(new Error('x'.repeat(500)));
    expect([error.code, error.message.length]).toEqual(['UploadFailed', 200]);
    const own = new UploadError('StorageNotConfigured', 'none');
    expect(uploadError(own)).toBe(own);
  });
});
