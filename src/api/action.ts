import type { FastifyBaseLogger } from 'fastify';
import type { AccessKeyService } from '../service/access-keys.js';
import type { ActivationService } from '../service/activations.js';
import type { AuditTrail } from '../service/audit-trail.js';
import type { Authorization } from '../service/authorization.js';
import type { ClusterService } from '../service/cluster.js';
import type { CommandService } from '../service/commands.js';
import type { FileUploadService } from '../service/file-uploads.js';
import type { Idempotence } from '../service/idempotence.js';
import type { InstanceService } from '../service/instances.js';
import type { InvocationService } from '../service/invocations.js';
import type { OutputDeliveryService } from '../service/output-delivery.js';
import type { ParameterService } from '../service/parameters.js';
import type { ResourceGroupService } from '../service/resource-groups.js';
import type { SendFileService } from '../service/send-files.js';
import type { SettingService } from '../service/settings.js';
import type { TagService } from '../service/tags.js';
import type { TerminalSessionService } from '../service/terminal-sessions.js';
import type { WebhookService } from '../service/webhooks.js';
import type { AccessKey } from '../store/store.js';
import type { Params } from './params.js';

/** What every action may use: the services, and the facts of the request it serves. */
export interface Services {
  readonly accessKeys: AccessKeyService;
  readonly authorization: Authorization;
  readonly commands: CommandService;
  readonly activations: ActivationService;
  readonly instances: InstanceService;
  readonly invocations: InvocationService;
  /** SendFile and DescribeSendFileResults. */
  readonly files: SendFileService;
  readonly idempotence: Idempotence;
  readonly tags: TagService;
  readonly resourceGroups: ResourceGroupService;
  readonly parameters: ParameterService;
  readonly cluster: ClusterService;
  readonly settings: SettingService;
  /** Runs' output delivered to object storage (docs/output-delivery.md). */
  readonly outputDelivery: OutputDeliveryService;
  readonly fileUploads: FileUploadService;
  /** StartTerminalSession, DescribeTerminalSessions, EndTerminalSession. */
  readonly terminalSessions: TerminalSessionService;
  /** CreateWebhook, DescribeWebhooks, DeleteWebhook, TestWebhook (docs/webhooks.md). */
  readonly webhooks: WebhookService;
  /** The audit trail: every call's record (docs/audit.md), LookupEvents. */
  readonly audit: AuditTrail;
  /** Reader threads that answer read-only actions off the event loop (SQLite); absent: none. */
  readonly readers?: ReadOffload | undefined;
  /** The server's clock. */
  readonly nowMs: () => number;
  /** Region ids this server serves, first one is the default for clients. */
  readonly regions: readonly string[];
}

export interface ActionContext {
  readonly params: Params;
  /** The validated RegionId; empty only for actions that do not take one. */
  readonly regionId: string;
  readonly accessKey: AccessKey;
  /** The Host header as the client sent it, used to describe endpoints. */
  readonly host: string;
  readonly services: Services;
  readonly log: FastifyBaseLogger;
  /** The request's `application/octet-stream` body, for an action that `takesBody`; else empty. */
  readonly body: Buffer;
}

interface ActionBase {
  readonly name: string;
  /** The product API version it belongs to; ECS `2014-05-26` unless said otherwise. */
  readonly version?: string;
  readonly regionRequired: boolean;
  /** It takes bytes as an `application/octet-stream` body, signed by V3 (UploadFilePart). */
  readonly takesBody?: boolean;
}

/** An answer's text and its content type, rendered and ready to send. */
export interface RenderedText {
  readonly type: string;
  /** Text, or its UTF-8 bytes. */
  readonly text: string | Buffer;
}

/** What a reader thread is handed: an authorized call, checked on the main thread. */
export interface ReadRequest {
  readonly action: string;
  readonly requestId: string;
  readonly regionId: string;
  /** The parameters as authorization returned them (a scoped key's ResourceGroupId added). */
  readonly params: ReadonlyMap<string, string>;
  readonly format: 'JSON' | 'XML';
}

/**
 * Hands a read-only call to a reader thread. Resolves to the rendered answer, or undefined when
 * no reader took it (queue full, readers restarting): the caller answers it itself. Rejects with
 * the action's ApiError, as the action would throw it.
 */
export interface ReadOffload {
  answer(request: ReadRequest): Promise<RenderedText | undefined>;
}

/** One API operation: its wire name, whether it needs RegionId, and its handler returning the response body. */
export interface RenderedAction extends ActionBase {
  handle(context: ActionContext): Promise<Record<string, unknown>>;
  /** It reads only, and a reader thread may answer it instead of `handle` (`ReadOffload`). */
  readonly offloadable?: boolean;
  readonly stream?: undefined;
}

/** One Server-Sent Event: an optional name and id, and data on one line. */
export interface ServerSentEvent {
  readonly event?: string;
  readonly id?: string;
  readonly data: string;
}

/**
 * An operation answering with a stream of Server-Sent Events. `stream` checks the request first
 * (its errors are answered like any other action's), then returns the events, which must stop
 * when `signal` aborts (the client left, or the server is closing).
 */
export interface StreamingAction extends ActionBase {
  stream(context: ActionContext, signal: AbortSignal): Promise<AsyncIterable<ServerSentEvent>>;
  readonly handle?: undefined;
}

export type Action = RenderedAction | StreamingAction;
