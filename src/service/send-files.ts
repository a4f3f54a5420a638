import { upgradeNeeded } from '../domain/agent-features.js';
import { ApiError } from '../domain/errors.js';
import type { FileUpload } from '../domain/file-upload.js';
import type { ManagedInstance } from '../domain/fleet.js';
import { newFileInvokeId } from '../domain/ids.js';
import type { Invocation } from '../domain/invocation.js';
import { aggregateStatus, invocationStatusFilter } from '../domain/invocation-status.js';
import type { Page, PageRequest } from '../domain/paging.js';
import { runError } from '../domain/run-errors.js';
import {
  type FileAttributes,
  type SendFileInput,
  type SendFileRequest,
  targetDirFits,
  validateSendFile,
} from '../domain/send-file.js';
import { type RawTag, validateTagFilters } from '../domain/tags.js';
import { filesPath, type TaskSpec } from '../protocol/messages.js';
import type { InitialRun, Store } from '../store/store.js';
import type { FileUploadService } from './file-uploads.js';
import { requestedInstances } from './invocation-targets.js';
import type { TaskDispatcher } from './invocations.js';
import type { RunObserver } from './run-observer.js';

export interface DescribeSendFilesInput {
  invokeId?: string | undefined;
  instanceId?: string | undefined;
  name?: string | undefined;
  invocationStatus?: string | undefined;
  resourceGroupId?: string | undefined;
  tags: readonly RawTag[];
}

/**
 * The task an agent receives for a sent file: no script (an agent that ignored `file` would run
 * nothing, which is why older agents never receive one), the file with its content in Base64, or,
 * for a file uploaded beyond 32 KB, where the agent downloads it and what it must hash to.
 */
export function fileTask(
  invocation: Invocation,
  file: FileAttributes,
  upload?: Pick<FileUpload, 'sizeBytes' | 'sha256'>,
): TaskSpec {
  const source = upload
    ? {
        download: {
          path: `${filesPath}${invocation.id}`,
          sizeBytes: upload.sizeBytes,
          sha256: upload.sha256,
        },
      }
    : { content: invocation.contentBase64 };
  return {
    invokeId: invocation.id,
    commandType: 'RunShellScript',
    script: '',
    username: '',
    workingDir: '',
    timeoutSeconds: invocation.timeoutSeconds,
    terminationMode: 'ProcessTree',
    file: {
      name: file.name,
      targetDir: file.targetDir,
      owner: file.owner,
      group: file.group,
      mode: Number.parseInt(file.mode, 8),
      overwrite: file.overwrite,
      ...source,
    },
  };
}

/**
 * SendFile and DescribeSendFileResults. A sent file is an invocation of kind file: it is stored,
 * delivered, timed out, reported and purged by the invocation machinery; only its start and its
 * listing are its own.
 */
export class SendFileService {
  constructor(
    private readonly store: Store,
    private readonly dispatcher: TaskDispatcher,
    private readonly nowMs: () => number,
    /** The same daily quota as InvokeCommand's: a sent file is an invocation (docs/files.md). */
    private readonly dailyQuota: number,
    /** Files beyond 32 KB, sent with `UploadId` (docs/file-transfer.md). */
    private readonly uploads: Pick<FileUploadService, 'bind' | 'release'>,
    /** The metrics, when the server keeps them: a sent file counts as repeat mode "File". */
    private readonly observer?: Pick<RunObserver, 'invocationCreated'>,
  ) {}

  /** Validates everything for every instance before anything is created (all-or-nothing, as InvokeCommand). */
  async send(regionId: string, owner: string, input: SendFileInput): Promise<Invocation> {
    const request = validateSendFile(input);
    const instances = await requestedInstances(this.store, regionId, { ...request, resourceTags: [] });
    for (const instance of instances) checkFits(request.file, instance);
    const id = newFileInvokeId();
    // Bound first, so one upload is never sent twice at once; unbound again if nothing is created.
    const upload = request.uploadId
      ? await this.uploads.bind(regionId, owner, request.uploadId, id)
      : undefined;
    try {
      return await this.create(regionId, id, request, instances, upload);
    } catch (error) {
      if (upload) await this.uploads.release(upload.id, id);
      throw error;
    }
  }

  private async create(
    regionId: string,
    id: string,
    request: SendFileRequest,
    instances: readonly ManagedInstance[],
    upload: FileUpload | undefined,
  ): Promise<Invocation> {
    const initialRuns = instances.map(initialRun);
    const now = this.nowMs();
    const invocation = await this.store.invocations.create(
      {
        id,
        regionId,
        commandId: '',
        commandName: request.file.name,
        // A file task runs no script; the type is the one an empty script would have.
        commandType: 'RunShellScript',
        commandDescription: request.description,
        contentBase64: request.contentBase64,
        parameters: {},
        repeatMode: 'Once',
        frequency: '',
        timeoutSeconds: request.timeoutSeconds,
        username: '',
        windowsPasswordName: '',
        workingDir: '',
        launcher: '',
        containerId: '',
        containerName: '',
        terminationMode: 'ProcessTree',
        resourceGroupId: request.resourceGroupId,
        clientToken: request.clientToken,
        status: aggregateStatus(initialRuns.map((run) => run.status)),
        createdAtMs: now,
        tags: request.tags,
        file: request.file,
      },
      initialRuns,
      { utcDay: new Date(now).toISOString().slice(0, 10), limit: this.dailyQuota },
    );
    if (!invocation) {
      throw new ApiError(
        'Invocation.ExceedQuota',
        `The quota is ${this.dailyQuota} invocations per region per UTC day.`,
      );
    }
    this.observer?.invocationCreated('File');
    const file = request.file;
    this.dispatcher.wake(
      initialRuns.filter((run) => run.status === 'Pending').map((run) => run.instanceId),
      {
        invokeId: invocation.id,
        createdAtMs: invocation.createdAtMs,
        render: async () => fileTask(invocation, file, upload),
      },
    );
    return invocation;
  }

  /** DescribeSendFileResults: sent files only, newest first by the invocations' own paging. */
  async describe(
    regionId: string,
    input: DescribeSendFilesInput,
    page: PageRequest,
  ): Promise<Page<Invocation>> {
    const statuses =
      input.invocationStatus === undefined ? undefined : invocationStatusFilter(input.invocationStatus);
    if (input.invocationStatus !== undefined && statuses === undefined) {
      throw new ApiError(
        'InvalidParameter',
        `InvocationStatus "${input.invocationStatus.slice(0, 40)}" is not a status.`,
      );
    }
    return this.store.invocations.list(
      {
        regionId,
        kind: 'file',
        invokeId: input.invokeId,
        commandName: input.name,
        instanceId: input.instanceId,
        resourceGroupId: input.resourceGroupId,
        statuses,
        tags: validateTagFilters(input.tags),
      },
      page,
    );
  }
}

/** An instance must be Running, and the target dir written as its system writes absolute paths. */
function checkFits(file: FileAttributes, instance: ManagedInstance): void {
  if (instance.status !== 'Running') {
    throw new ApiError('InvalidInstance.NotMatch', `${instance.id} is ${instance.status}, not Running.`);
  }
  if (!targetDirFits(file.targetDir, instance.osType)) {
    throw new ApiError(
      'InvalidInstance.NotMatch',
      `TargetDir ${file.targetDir.slice(0, 80)} is not an absolute path on ${instance.id} (${instance.osType}).`,
    );
  }
}

/** Delivered now, or not sendable there: an agent too old for file tasks (it would run an empty script). */
function initialRun(instance: ManagedInstance): InitialRun {
  if (upgradeNeeded(['files'], instance.agentVersion) !== undefined) {
    return { instanceId: instance.id, status: 'Invalid', ...runError('ClientNeedUpgrade') };
  }
  return { instanceId: instance.id, status: 'Pending', errorCode: '', errorInfo: '' };
}
