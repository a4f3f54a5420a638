import { missingParameter } from '../../domain/errors.js';
import { type FileUpload, fileUploadLimits } from '../../domain/file-upload.js';
import type { Action } from '../action.js';
import { isoTime } from '../wire.js';

/**
 * OpenAssist's extension for SendFile beyond Alibaba's 32 KB (`docs/file-transfer.md`): a file is
 * uploaded in parts, then SendFile sends it with `UploadId` in place of `Content`. An upload
 * belongs to the access key that created it.
 */

const renderUpload = (upload: FileUpload) => ({
  UploadId: upload.id,
  SizeBytes: upload.sizeBytes,
  Sha256: upload.sha256,
  ReceivedBytes: upload.receivedBytes,
  State: upload.state,
  InvokeId: upload.invokeId,
  CreationTime: isoTime(upload.createdAtMs),
});

/** SizeBytes, Sha256 (hex) and ClientToken (a retry, or a resumed upload, gets the same UploadId). */
export const createFileUpload: Action = {
  name: 'CreateFileUpload',
  regionRequired: true,
  async handle({ params, regionId, accessKey, services }) {
    const upload = await services.fileUploads.create(
      regionId,
      accessKey.id,
      params.integer('SizeBytes'),
      params.string('Sha256'),
    );
    // What a repeated ClientToken is answered with: nothing that changes as parts arrive.
    return { UploadId: upload.id, SizeBytes: upload.sizeBytes, PartBytes: fileUploadLimits.partBytes };
  },
};

/** UploadId, Offset, and the part's bytes as an application/octet-stream body (at most PartBytes). */
export const uploadFilePart: Action = {
  name: 'UploadFilePart',
  regionRequired: true,
  takesBody: true,
  async handle({ params, regionId, accessKey, services, body }) {
    const id = params.required('UploadId');
    const offset = params.integer('Offset');
    if (offset === undefined) throw missingParameter('Offset');
    const upload = await services.fileUploads.putPart(regionId, accessKey.id, id, offset, body);
    return { UploadId: upload.id, ReceivedBytes: upload.receivedBytes, State: upload.state };
  },
};

/** Where an upload stands: a client resumes at ReceivedBytes. */
export const describeFileUpload: Action = {
  name: 'DescribeFileUpload',
  regionRequired: true,
  async handle({ params, regionId, accessKey, services }) {
    return renderUpload(
      await services.fileUploads.describe(regionId, accessKey.id, params.required('UploadId')),
    );
  },
};

export const fileUploadActions: readonly Action[] = [createFileUpload, uploadFilePart, describeFileUpload];
