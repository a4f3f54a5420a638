import { ApiError } from '../../domain/errors.js';
import { parsePaging } from '../../domain/paging.js';
import type { TerminalSession } from '../../domain/terminal-session.js';
import { maxRecordingPageBytes } from '../../service/terminal-sessions.js';
import type { Action } from '../action.js';
import { optionalTime } from '../wire.js';

// DescribeTerminalSessions pages with MaxResults up to 100 (the model), NextToken only.
const maxSessionsPage = 100;

export const startTerminalSession: Action = {
  name: 'StartTerminalSession',
  regionRequired: true,
  async handle({ params, regionId, accessKey, services, host }) {
    const started = await services.terminalSessions.start(
      regionId,
      accessKey,
      {
        instanceIds: params.list(
          'InstanceId',
          1,
          () =>
            new ApiError(
              'InstanceIds.ExceedLimit',
              'A session connects to one instance: send one InstanceId.N.',
            ),
          () => new ApiError('MissingParam.InstanceId', 'An InstanceId.N is empty.'),
        ),
        commandLine: params.string('CommandLine'),
        portNumber: params.integer('PortNumber', 'InvalidPortNumber.Malformed'),
        targetServer: params.string('TargetServer'),
        username: params.string('Username'),
        connectionType: params.string('ConnectionType'),
        passwordName: params.string('PasswordName'),
        encryptionOptions: params.string('EncryptionOptions'),
      },
      host,
    );
    return {
      SessionId: started.sessionId,
      WebSocketUrl: started.webSocketUrl,
      SecurityToken: started.securityToken,
    };
  },
};

function renderSession(session: TerminalSession) {
  return {
    SessionId: session.id,
    CreationTime: optionalTime(session.createdAtMs),
    ClientIP: session.clientIp,
    Username: session.username,
    // The model types PortNumber as a number: absent for a shell.
    ...(session.portNumber !== 0 && { PortNumber: session.portNumber }),
    TargetServer: session.targetServer,
    IdentityType: session.identityType,
    PrincipalId: session.accessKeyId,
    Connections: {
      Connection: [
        {
          InstanceId: session.instanceId,
          Status: session.status,
          StartTime: optionalTime(session.startedAtMs),
          EndTime: optionalTime(session.endedAtMs),
          ClosedReason: session.closedReason,
          FailedDetail: session.failedDetail,
        },
      ],
    },
    // Extensions (docs/terminal-sessions.md).
    CommandLine: session.commandLine,
    ExitCode: session.exitCode,
    RecordedBytes: session.recordedBytes,
    DroppedBytes: session.droppedBytes,
  };
}

export const describeTerminalSessions: Action = {
  name: 'DescribeTerminalSessions',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const page = parsePaging(
      {
        maxResults: params.integer('MaxResults', 'InvalidParameter.MaxResults'),
        nextToken: params.string('NextToken'),
      },
      maxSessionsPage,
    );
    // Token paging only: the first page without MaxResults has the default size.
    const tokenPage =
      page.style === 'token'
        ? page
        : { style: 'token' as const, maxResults: page.pageSize, afterSeq: undefined };
    const result = await services.terminalSessions.describe(
      regionId,
      {
        instanceId: params.string('InstanceId') || undefined,
        sessionId: params.string('SessionId') || undefined,
      },
      tokenPage,
    );
    return {
      ...(result.nextToken && { NextToken: result.nextToken }),
      Sessions: { Session: result.items.map(renderSession) },
    };
  },
};

export const endTerminalSession: Action = {
  name: 'EndTerminalSession',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    await services.terminalSessions.end(regionId, params.required('SessionId'));
    return {};
  },
};

/**
 * Extension: a page of a session's recording (docs/terminal-sessions.md, "Recording"). `Stream`
 * Output (default) or Input; `Offset` in that stream; `MaxBytes` up to 1 MiB.
 */
export const describeTerminalSessionRecording: Action = {
  name: 'DescribeTerminalSessionRecording',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const stream = params.string('Stream') || 'Output';
    if (stream !== 'Output' && stream !== 'Input') {
      throw new ApiError('InvalidParameter', 'Stream is Output or Input.');
    }
    const offset = params.integer('Offset') ?? 0;
    const maxBytes = params.integer('MaxBytes') ?? 64 * 1024;
    if (offset < 0) throw new ApiError('InvalidParameter', 'Offset must be 0 or more.');
    if (maxBytes < 1 || maxBytes > maxRecordingPageBytes) {
      throw new ApiError('InvalidParameter', `MaxBytes must be 1 to ${maxRecordingPageBytes}.`);
    }
    const { data, session } = await services.terminalSessions.recording(
      regionId,
      params.required('SessionId'),
      stream === 'Output' ? 'o' : 'i',
      offset,
      maxBytes,
    );
    const nextOffset = offset + data.length;
    const live =
      session.status === 'Pending' || session.status === 'Connecting' || session.status === 'Connected';
    return {
      SessionId: session.id,
      Data: data.toString('base64'),
      Offset: offset,
      NextOffset: nextOffset,
      // Everything recorded was read, and nothing more will come (the session ended).
      Complete: !live && data.length < maxBytes,
      RecordedBytes: session.recordedBytes,
      DroppedBytes: session.droppedBytes,
    };
  },
};

export const terminalSessionActions = [
  startTerminalSession,
  describeTerminalSessions,
  endTerminalSession,
  describeTerminalSessionRecording,
];
