/** The response fields the console reads, as the API names them. */

export interface WireTag {
  readonly TagKey: string;
  readonly TagValue: string;
}

export interface ManagedInstance {
  readonly InstanceId: string;
  readonly InstanceName: string;
  readonly Hostname: string;
  readonly AgentVersion: string;
  readonly OsType: string;
  readonly OsVersion: string;
  readonly IntranetIp: string;
  /** The registered address when it is not a private one (then IntranetIp is empty). */
  readonly InternetIp: string;
  readonly Connected: boolean;
  readonly InvocationCount: number;
  readonly LastInvokedTime: string;
  readonly RegistrationTime: string;
  readonly Tags: readonly WireTag[];
}

export interface DescribeManagedInstancesResponse {
  readonly TotalCount: number;
  readonly Instances: readonly ManagedInstance[];
}

export interface AssistantStatus {
  readonly InstanceId: string;
  readonly CloudAssistantStatus: string;
  readonly LastHeartbeatTime: string;
  readonly ActiveTaskCount: number;
  /** OpenAssist extensions: the agent's health from its last heartbeat (absent from older agents). */
  readonly JournalBytes?: number;
  readonly PendingEvents?: number;
  readonly HealthReportTime?: string;
  readonly ResourceUsage?: ResourceUsageState;
}

export interface DescribeCloudAssistantStatusResponse {
  readonly InstanceCloudAssistantStatusSet: {
    readonly InstanceCloudAssistantStatus: readonly AssistantStatus[];
  };
}

/** What an agent applied of its resource caps (ListPluginStatus' OpenAssist extension). */
export interface ResourceUsageState {
  /** none, applied, unavailable; unreported before the agent's first report. */
  readonly State: string;
  readonly Mechanism?: string;
  readonly Cgroup?: string;
  readonly CpuLimit?: number;
  readonly MemoryLimitBytes?: number;
  readonly Reason?: string;
}

export interface InstancePluginStatus {
  readonly InstanceId: string;
  readonly PluginStatusSet: {
    readonly PluginStatus: readonly { readonly PluginName: string; readonly PluginStatus: string }[];
  };
  readonly ResourceUsage?: ResourceUsageState;
}

export interface ListPluginStatusResponse {
  readonly InstancePluginStatusSet: { readonly InstancePluginStatus: readonly InstancePluginStatus[] };
}

export interface Command {
  readonly CommandId: string;
  readonly Name: string;
  readonly Description: string;
  readonly Type: string;
  readonly CommandContent: string;
  readonly WorkingDir: string;
  readonly Timeout: number;
  readonly EnableParameter: boolean;
  readonly ParameterNames: { readonly ParameterName: readonly string[] };
  readonly Version: number;
  readonly InvokeTimes: number;
  readonly CreationTime: string;
}

export interface DescribeCommandsResponse {
  readonly TotalCount: number;
  readonly Commands: { readonly Command: readonly Command[] };
}

export interface InvokeInstance {
  readonly InstanceId: string;
  readonly InvocationStatus: string;
  readonly ExitCode?: number | null;
  readonly ErrorCode: string;
  readonly ErrorInfo: string;
  readonly StartTime: string;
  /** When the run ended, however it ended (DescribeInvocations' name; DescribeInvocationResults says FinishedTime). */
  readonly FinishTime: string;
  /** When a stop was asked for: empty for a run that ended on its own. */
  readonly StopTime: string;
  readonly Repeats: number;
}

export interface Invocation {
  readonly InvokeId: string;
  readonly CommandId: string;
  readonly CommandName: string;
  readonly CommandType: string;
  readonly Parameters: string;
  readonly RepeatMode: string;
  readonly Frequency: string;
  readonly Timeout: number;
  readonly Username: string;
  readonly WorkingDir: string;
  readonly InvocationStatus: string;
  readonly CreationTime: string;
  readonly InvokeInstances: { readonly InvokeInstance: readonly InvokeInstance[] };
}

export interface DescribeInvocationsResponse {
  readonly TotalCount: number;
  readonly PageNumber: number;
  readonly PageSize: number;
  readonly Invocations: { readonly Invocation: readonly Invocation[] };
}

export interface FrequencyPreviewResponse {
  readonly Kind: string;
  readonly TimeZone: string;
  readonly NextRunTimes: {
    readonly NextRunTime: readonly { readonly Utc: string; readonly Local: string }[];
  };
}

export interface DescribeRegionsResponse {
  readonly Regions: { readonly Region: readonly { readonly RegionId: string }[] };
}

/** Per-instance statuses after which nothing changes. */
export const finalInstanceStatuses = new Set([
  'Success',
  'Failed',
  'Error',
  'Timeout',
  'Invalid',
  'Aborted',
  'Cancelled',
  'Terminated',
]);

/** Aggregate statuses after which nothing changes. */
export const finalInvocationStatuses = new Set(['Success', 'Failed', 'Stopped', 'PartialFailed']);

export { invocationStatuses } from '../../domain/invocation-status.js';

/** One instance's delivery of a sent file. */
export interface FileInstance {
  readonly InstanceId: string;
  readonly InvocationStatus: string;
  readonly ErrorCode: string;
  readonly ErrorInfo: string;
  readonly CreationTime: string;
  readonly StartTime: string;
  readonly FinishTime: string;
  readonly UpdateTime: string;
}

/** A sent file, as DescribeSendFileResults lists it. */
export interface FileSend {
  readonly InvokeId: string;
  readonly Name: string;
  readonly Description: string;
  readonly TargetDir: string;
  readonly FileOwner: string;
  readonly FileGroup: string;
  readonly FileMode: string;
  /** The model types it as a string: `true` or `false`. */
  readonly Overwrite: string;
  readonly Content: string;
  readonly ContentType: string;
  readonly InvocationStatus: string;
  readonly CreationTime: string;
  readonly VmCount: number;
  readonly InvokeInstances: { readonly InvokeInstance: readonly FileInstance[] };
}

export interface DescribeSendFileResultsResponse {
  readonly TotalCount: number;
  readonly PageNumber: number;
  readonly PageSize: number;
  readonly Invocations: { readonly Invocation: readonly FileSend[] };
}

export interface StartTerminalSessionResponse {
  readonly SessionId: string;
  readonly WebSocketUrl: string;
  readonly SecurityToken: string;
}

/** The instance end of a terminal session: how far it got and why it ended. */
export interface SessionConnection {
  readonly InstanceId: string;
  /** Pending, Connecting, Connected, Closed or Failed. */
  readonly Status: string;
  readonly StartTime?: string;
  readonly EndTime?: string;
  readonly ClosedReason?: string;
  readonly FailedDetail?: string;
}

export interface TerminalSession {
  readonly SessionId: string;
  readonly CreationTime: string;
  readonly ClientIP?: string;
  readonly Username?: string;
  readonly PortNumber?: number;
  readonly TargetServer?: string;
  readonly PrincipalId?: string;
  readonly Connections: { readonly Connection: readonly SessionConnection[] };
  /** OpenAssist extensions. */
  readonly CommandLine?: string;
  /** The shell's exit status once it exited by itself. */
  readonly ExitCode?: number | null;
  readonly RecordedBytes?: number;
  /** Output past the recording's bound: counted, not kept. */
  readonly DroppedBytes?: number;
}

export interface DescribeTerminalSessionsResponse {
  readonly NextToken?: string;
  readonly Sessions: { readonly Session: readonly TerminalSession[] };
}

/** A page of a session's recorded terminal output (an OpenAssist extension). */
export interface DescribeTerminalSessionRecordingResponse {
  readonly Data: string;
  readonly NextOffset: number;
  /** True once the session has ended and every recorded byte has been read. */
  readonly Complete: boolean;
}

/** Session statuses after which nothing changes. */
export const finalSessionStatuses = new Set(['Closed', 'Failed']);
