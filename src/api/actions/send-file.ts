import { fromBase64 } from '../../domain/content.js';
import type { Action } from '../action.js';
import {
  isoTime,
  optionalTime,
  readInstanceIds,
  readPaging,
  readTags,
  renderPage,
  renderTags,
} from '../wire.js';

export const sendFile: Action = {
  name: 'SendFile',
  regionRequired: true,
  async handle({ params, regionId, accessKey, services }) {
    const invocation = await services.files.send(regionId, accessKey.id, {
      name: params.string('Name'),
      description: params.string('Description'),
      content: params.string('Content'),
      uploadId: params.string('UploadId'),
      contentType: params.string('ContentType'),
      targetDir: params.string('TargetDir'),
      fileOwner: params.string('FileOwner'),
      fileGroup: params.string('FileGroup'),
      fileMode: params.string('FileMode'),
      overwrite: params.boolean('Overwrite'),
      timeoutSeconds: params.integer('Timeout', 'InvalidParameter.Timeout'),
      // InvokeCommand's reading, limits and codes; SendFile's model has no ResourceTag.N.
      instanceIds: readInstanceIds(params, 50),
      resourceGroupId: params.string('ResourceGroupId'),
      clientToken: params.string('ClientToken'),
      tags: readTags(params),
    });
    return { InvokeId: invocation.id };
  },
};

export const describeSendFileResults: Action = {
  name: 'DescribeSendFileResults',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const page = readPaging(params);
    const result = await services.files.describe(
      regionId,
      {
        invokeId: params.string('InvokeId') || undefined,
        instanceId: params.string('InstanceId') || undefined,
        name: params.string('Name') || undefined,
        invocationStatus: params.string('InvocationStatus') || undefined,
        resourceGroupId: params.string('ResourceGroupId') || undefined,
        tags: readTags(params),
      },
      page,
    );
    const runsOf = await Promise.all(
      result.items.map((invocation) => services.invocations.runs(invocation.id)),
    );
    const invocations = result.items.map((invocation, i) => {
      const runs = runsOf[i] ?? [];
      const file = invocation.file;
      return {
        InvokeId: invocation.id,
        Name: invocation.commandName,
        Description: invocation.commandDescription,
        // As it was sent: the ContentType says how to read it.
        Content: fromBase64(invocation.contentBase64, file?.contentType ?? 'Base64'),
        ContentType: file?.contentType ?? 'Base64',
        TargetDir: file?.targetDir ?? '',
        FileOwner: file?.owner ?? '',
        FileGroup: file?.group ?? '',
        FileMode: file?.mode ?? '',
        // The model types Overwrite as a string.
        Overwrite: String(file?.overwrite ?? false),
        InvocationStatus: invocation.status,
        CreationTime: isoTime(invocation.createdAtMs),
        VmCount: runs.length,
        Tags: renderTags(invocation.tags),
        InvokeInstances: {
          InvokeInstance: runs.map((run) => ({
            InstanceId: run.instanceId,
            InvocationStatus: run.status,
            ErrorCode: run.errorCode,
            ErrorInfo: run.errorInfo,
            CreationTime: isoTime(run.createdAtMs),
            StartTime: optionalTime(run.startTimeMs),
            FinishTime: optionalTime(run.finishTimeMs),
            UpdateTime: isoTime(run.updateTimeMs),
          })),
        },
      };
    });
    return { ...renderPage(page, result), Invocations: { Invocation: invocations } };
  },
};
