import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../../test/helpers/error-code.js';
import { validateSendFile } from '../../domain/send-file.js';
import {
  checkFileDraft,
  defaultTimeoutSeconds,
  emptyFileDraft,
  type FileDraft,
  fitsInline,
  largestInlineFile,
} from './send-file-checks.js';

const valid: FileDraft = { ...emptyFileDraft, name: 'app.conf', targetDir: '/etc/app' };

/** The code the console's check gives, the text before its first colon. */
const consoleCode = (draft: FileDraft) => checkFileDraft(draft)?.split(':')[0];

/** The code the server's SendFile rules give for the same fields. */
const serverCode = (draft: FileDraft) =>
  errorCodeOf(() =>
    validateSendFile({
      name: draft.name,
      description: draft.description,
      targetDir: draft.targetDir,
      fileOwner: draft.owner,
      fileGroup: draft.group,
      fileMode: draft.mode,
      content: 'x',
      instanceIds: ['mi-1'],
      tags: [],
    }),
  );

describe('the Send file dialog checks', () => {
  it.each<[string, Partial<FileDraft>, string | undefined]>([
    ['a valid draft', {}, undefined],
    ['Windows target dir', { targetDir: 'C:\\app' }, undefined],
    ['no name', { name: '' }, 'MissingParameter'],
    ['a name of 256 characters', { name: 'n'.repeat(256) }, 'FileName.ExceedLimit'],
    ['a name of 255 characters', { name: 'n'.repeat(255) }, undefined],
    ['a path as name', { name: 'etc/passwd' }, 'InvalidFileName.Malformed'],
    ['..', { name: '..' }, 'InvalidFileName.Malformed'],
    ['no target dir', { targetDir: '' }, 'MissingParameter'],
    ['a relative target dir', { targetDir: 'etc/app' }, 'InvalidTargetDir.Malformed'],
    ['a target dir of 256 characters', { targetDir: `/${'d'.repeat(255)}` }, 'TargetDir.ExceedLimit'],
    ['a description of 513 characters', { description: 'd'.repeat(513) }, 'FileDesc.ExceedLimit'],
    ['an owner of 65 characters', { owner: 'u'.repeat(65) }, 'FileOwner.ExceedLimit'],
    ['an owner of 64 characters', { owner: 'u'.repeat(64) }, undefined],
    ['an owner starting with -', { owner: '-rf' }, 'InvalidFileOwner.Malformed'],
    ['a numeric owner', { owner: '1000' }, 'InvalidFileOwner.Malformed'],
    ['a group of 65 characters', { group: 'g'.repeat(65) }, 'FileGroup.ExceedLimit'],
    ['a group with a space', { group: 'a b' }, 'InvalidFileGroup.Malformed'],
    ['mode 755', { mode: '755' }, undefined],
    ['mode 0600', { mode: '0600' }, undefined],
    ['mode 0800', { mode: '0800' }, 'InvalidFileMode.Malformed'],
    ['mode u+x', { mode: 'u+x' }, 'InvalidFileMode.Malformed'],
    ['mode 01755', { mode: '01755' }, 'InvalidFileMode.Malformed'],
    ['a bad name and a bad mode: the name first', { name: '', mode: 'x' }, 'MissingParameter'],
  ])('%s: %s, as the server says', (_what, change, code) => {
    const draft = { ...valid, ...change };
    expect(consoleCode(draft)).toBe(code);
    expect(serverCode(draft)).toBe(code);
  });

  it('says what to fix after the code', () => {
    expect(checkFileDraft({ ...valid, targetDir: 'tmp' })).toBe(
      'InvalidTargetDir.Malformed: the target directory is an absolute path (/dir on Linux, C:\\dir on Windows).',
    );
  });

  it('sends inline exactly the files whose Base64 fits in 32 KB', () => {
    expect(largestInlineFile).toBe(24_576);
    expect(Buffer.alloc(largestInlineFile).toString('base64').length).toBe(32 * 1024);
    expect(fitsInline(largestInlineFile)).toBe(true);
    expect(fitsInline(largestInlineFile + 1)).toBe(false);
    expect(
      errorCodeOf(() =>
        validateSendFile({
          name: 'a',
          targetDir: '/a',
          instanceIds: ['mi-1'],
          tags: [],
          content: Buffer.alloc(largestInlineFile + 1).toString('base64'),
          contentType: 'Base64',
        }),
      ),
    ).toBe('FileContent.ExceedLimit');
  });

  it('gives an uploaded file a second per MiB on top of the 60 s default, up to a day', () => {
    expect(defaultTimeoutSeconds(1000)).toBe(60);
    expect(defaultTimeoutSeconds(largestInlineFile + 1)).toBe(61);
    expect(defaultTimeoutSeconds(100 * 1024 * 1024)).toBe(160);
    expect(defaultTimeoutSeconds(200 * 1024 ** 3)).toBe(86_400);
  });
});
