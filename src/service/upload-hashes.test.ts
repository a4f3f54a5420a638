import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UploadHashes } from './upload-hashes.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('UploadHashes', () => {
  it('hashes the parts a node stored in order, from offset 0', () => {
    const hashes = new UploadHashes(4);
    hashes.appended('up', 0, Buffer.from('abc'));
    hashes.appended('up', 3, Buffer.from('def'));
    expect(hashes.take('up', 6)).toBe(sha('abcdef'));
    expect(hashes.take('up', 6)).toBeUndefined();
  });

  it('has none once a part went elsewhere, until the upload starts again at 0', () => {
    const hashes = new UploadHashes(4);
    hashes.appended('up', 0, Buffer.from('abc'));
    hashes.appended('up', 6, Buffer.from('ghi'));
    hashes.appended('up', 9, Buffer.from('j'));
    expect(hashes.take('up', 10)).toBeUndefined();
    hashes.appended('up', 3, Buffer.from('x'));
    expect(hashes.take('up', 4)).toBeUndefined();
    hashes.appended('up', 0, Buffer.from('new'));
    expect(hashes.take('up', 3)).toBe(sha('new'));
  });

  it('keeps at most its bound, the least recently fed going first', () => {
    const hashes = new UploadHashes(2);
    hashes.appended('a', 0, Buffer.from('a'));
    hashes.appended('b', 0, Buffer.from('b'));
    hashes.appended('a', 1, Buffer.from('a'));
    hashes.appended('c', 0, Buffer.from('c'));
    expect(hashes.take('b', 1)).toBeUndefined();
    expect(hashes.take('a', 2)).toBe(sha('aa'));
    expect(hashes.take('c', 1)).toBe(sha('c'));
  });
});
