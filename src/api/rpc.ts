import type { FastifyReply, FastifyRequest } from 'fastify';
import { closestNames } from '../domain/closest-names.js';
import { validateClientToken } from '../domain/command.js';
import { ApiError, isApiError, missingParameter } from '../domain/errors.js';
import { idempotentActions, requestHash, tokenOwner } from '../service/idempotence.js';
import { isStorageFull } from '../store/storage-errors.js';
import type { AccessKey } from '../store/store.js';
import type { RpcOutcome, Tracing } from '../telemetry/tracing.js';
import type { Action, Services } from './action.js';
import { actionKey, actions, servedVersions } from './actions/index.js';
import { hostIdOf, renderError } from './error-response.js';
import { type OpenStreams, sendEventStream } from './event-stream.js';
import type { KeyStreams } from './key-streams.js';
import { Params } from './params.js';
import { parseUrlEncoded, splitTarget } from './query.js';
import { type Format, formatOf, renderBody } from './render.js';
import { rpcAudit } from './rpc-audit.js';
import { type AuthDeps, authenticate, signatureKind } from './signature/authenticate.js';
import type { SignedRequest } from './signature/signed-request.js';

/** The names this endpoint serves under one API version: what a mistyped action is compared with. */
function actionNames(version: string): string[] {
  const prefix = actionKey(version, '');
  return [...actions.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
}

/** `No operation named X.`, with the closest served names when some are near (a plural, a typo). */
function unknownAction(version: string, action: string): string {
  const named = `No operation named ${action.slice(0, 80)}.`;
  const near = closestNames(action, actionNames(version));
  return near.length > 0 ? `${named} Did you mean ${near.join(', ')}?` : named;
}

// The largest legitimate request is a 24 KB script plus parameters, percent-encoded (up to 3x).
export const maxQueryBytes = 128 * 1024;

export interface RpcDeps extends AuthDeps {
  readonly services: Services;
  /** Event streams being sent, ended when the server closes. */
  readonly openStreams: OpenStreams;
  /** The key of each open stream, ended when the key is revoked. */
  readonly keyStreams: KeyStreams;
  /** Each request in an `rpc <Action>` span (docs/tracing.md); undefined: tracing is off. */
  readonly tracing?: Tracing | undefined;
  /** Counts each request answered (the metrics); absent: metrics are off. */
  readonly metrics?: ApiRequestObserver | undefined;
}

/** Told of every request answered: its action ('' before one was read), its error code ('' on success). */
export interface ApiRequestObserver {
  apiRequest(action: string, code: string, seconds: number): void;
}

const formType = 'application/x-www-form-urlencoded';
/** The body of an action that takes bytes (UploadFilePart): kept as sent, never parsed. */
export const bytesType = 'application/octet-stream';

/** Reads headers as the signer saw them: lower-case names, repeated values joined with ','. */
function headersOf(request: FastifyRequest): Record<string, string> {
  // No prototype: a header named "constructor" must not meet Object's own properties.
  const headers: Record<string, string> = Object.create(null);
  const raw = request.raw.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return headers;
}

function readRequest(request: FastifyRequest): SignedRequest {
  const { path, rawQuery } = splitTarget(request.raw.url ?? '/');
  if (rawQuery.length > maxQueryBytes) {
    throw new ApiError('RequestTooLarge', `The query string is over ${maxQueryBytes} bytes.`);
  }
  const query = parseUrlEncoded(rawQuery, 'query string');
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const params = new Map(query);
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (body.length > 0 && type !== bytesType) {
    if (type !== formType) {
      throw new ApiError(
        'InvalidParameter',
        `A request body must be ${formType}; got "${type?.slice(0, 60)}".`,
      );
    }
    const text = new TextDecoder('utf-8', { fatal: true });
    let decoded: string;
    try {
      decoded = text.decode(body);
    } catch {
      throw new ApiError('InvalidParameter', 'The request body is not UTF-8.');
    }
    parseUrlEncoded(decoded, 'request body', params);
  }
  return { method: request.method, path, query, params, headers: headersOf(request), body };
}

/**
 * The code a failure is answered with: its own; ServiceUnavailable (503) while the data store's disk
 * is full, which ends by itself once space is freed; else InternalError.
 */
export function apiErrorOf(error: unknown): ApiError {
  if (isApiError(error)) return error;
  if (isStorageFull(error)) {
    return new ApiError(
      'ServiceUnavailable',
      "The server's data store is out of disk space; retry once the operator has freed space.",
    );
  }
  return new ApiError('InternalError');
}

/** Answers any failure with Alibaba's error body (`error-response.ts`); causes are logged, never sent. */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  format: Format = 'JSON',
): void {
  const known = apiErrorOf(error);
  if (known.code === 'ServiceUnavailable' && !isApiError(error)) {
    request.log.error({ err: error }, 'the data store is full: writes fail until space is freed');
  } else if (!isApiError(error)) request.log.error({ err: error }, 'unexpected failure');
  const { status, type, text } = renderError(
    known,
    { requestId: request.id, host: request.headers.host },
    format,
  );
  reply.code(status).type(type).send(text);
}

/** The operation a request names; a V1 request only by its (signed) `Action` parameter. */
function actionName(signed: SignedRequest, v1: boolean): string {
  const fromParam = signed.params.get('Action');
  if (v1) {
    if (!fromParam) throw missingParameter('Action');
    return fromParam;
  }
  const fromHeader = signed.headers['x-acs-action'];
  if (fromParam && fromHeader && fromParam !== fromHeader) {
    throw new ApiError('InvalidParameter', 'The Action parameter and the x-acs-action header disagree.');
  }
  const name = fromParam || fromHeader;
  if (!name) throw new ApiError('MissingParameter', 'Name the operation in Action or x-acs-action.');
  return name;
}

/** The API version a request names: ECS 2014-05-26, or another product's routed here (`actions`). */
function versionOf(signed: SignedRequest, v1: boolean): string {
  const fromParam = signed.params.get('Version');
  if (v1 && !fromParam) throw missingParameter('Version');
  const version = v1 ? fromParam : fromParam || signed.headers['x-acs-version'];
  if (!version) throw new ApiError('MissingParameter', 'Name the API version in Version or x-acs-version.');
  if (!servedVersions.has(version)) {
    throw new ApiError('InvalidVersion', `This endpoint serves ${[...servedVersions].join(', ')}.`);
  }
  return version;
}

/**
 * The bytes an action that takes them (`takesBody`) was sent; only V3 signs a body
 * (`x-acs-content-sha256`), so a V1 request cannot send any. Other actions take none.
 */
function bytesOf(signed: SignedRequest, handler: Action, action: string, v1: boolean): Buffer {
  const sent = (signed.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === bytesType;
  if (!handler.takesBody) {
    if (sent) throw new ApiError('InvalidParameter', `${action} takes no ${bytesType} body.`);
    return Buffer.alloc(0);
  }
  if (v1) {
    throw new ApiError(
      'InvalidParameter',
      `${action} sends bytes: sign it with ACS3-HMAC-SHA256, which covers them.`,
    );
  }
  return sent ? signed.body : Buffer.alloc(0);
}

/**
 * `POST /` and `GET /`: parse, authenticate, route, validate the region, run the action, render.
 * Checks run in the documented order: signature and key first, then parameters.
 */
export function rpcHandler(deps: RpcDeps) {
  const serve = async (
    request: FastifyRequest,
    reply: FastifyReply,
    traced?: (outcome: RpcOutcome) => void,
  ): Promise<void> => {
    const started = performance.now();
    let format: Format = 'JSON';
    let action = '';
    let accessKeyId = '';
    let code = '';
    let signed: SignedRequest | undefined;
    let key: AccessKey | undefined;
    let version = '';
    // Every call leaves one record, stored before its answer is sent (docs/audit.md).
    const audit = rpcAudit(deps.services.audit, request, () => ({ signed, key, action, version }));
    try {
      if (request.method !== 'POST' && request.method !== 'GET') throw new ApiError('UnsupportedHTTPMethod');
      signed = readRequest(request);
      const v1 = signatureKind(signed) === 'v1';
      format = formatOf(signed.params.get('Format'), v1 ? 'XML' : 'JSON');
      key = await authenticate(signed, deps);
      accessKeyId = key.id;
      action = actionName(signed, v1);
      version = versionOf(signed, v1);
      const handler = actions.get(actionKey(version, action));
      if (!handler) throw new ApiError('InvalidAction.NotFound', unknownAction(version, action));
      const bytes = bytesOf(signed, handler, action, v1);
      const authorized = await deps.services.authorization.authorize(key, version, action, signed.params);
      const params = new Params(authorized);
      const regionId = handler.regionRequired
        ? params.required('RegionId')
        : (params.string('RegionId') ?? '');
      if (handler.regionRequired && !deps.services.regions.includes(regionId)) {
        throw new ApiError(
          'RegionId.ApiNotSupported',
          `This endpoint serves ${deps.services.regions.join(', ')}.`,
        );
      }
      const context = {
        params,
        regionId,
        accessKey: key,
        host: hostIdOf(request.headers.host),
        services: deps.services,
        log: request.log,
        body: bytes,
      };
      if (handler.stream) {
        // Checked first, answered like any action's errors; then streamed until it ends (one log line).
        const controller = new AbortController();
        const unwatch = deps.keyStreams.watch(key, controller);
        try {
          const events = await handler.stream(context, controller.signal);
          await audit.store();
          await sendEventStream(reply, request.id, events, controller, deps.openStreams);
        } finally {
          unwatch();
        }
        return;
      }
      const token = params.string('ClientToken');
      const idempotenceToken =
        token && idempotentActions.has(action) ? validateClientToken(token) : undefined;
      // A read-only action may be answered by a reader thread, rendered there; else (none took it) here.
      const offloaded =
        handler.offloadable && !idempotenceToken
          ? await deps.services.readers?.answer({
              action,
              requestId: request.id,
              regionId,
              params: authorized,
              format,
            })
          : undefined;
      const { type, text } =
        offloaded ??
        renderBody(
          `${action}Response`,
          Object.assign(
            { RequestId: request.id },
            idempotenceToken
              ? await deps.services.idempotence.run(
                  { owner: tokenOwner(key), action, token: idempotenceToken },
                  requestHash(action, authorized),
                  () => handler.handle(context),
                )
              : await handler.handle(context),
          ),
          format,
        );
      await audit.store();
      reply.code(200).type(type).send(text);
    } catch (error) {
      const answered = await audit.store(apiErrorOf(error)).then(
        () => error,
        (unrecorded: unknown) => unrecorded,
      );
      code = apiErrorOf(answered).code;
      sendError(request, reply, answered, format);
    } finally {
      deps.metrics?.apiRequest(action, code, (performance.now() - started) / 1000);
      request.log.info(
        { action, accessKeyId, status: reply.statusCode, code, ms: Math.round(performance.now() - started) },
        'rpc',
      );
      traced?.({ action, status: reply.statusCode, code });
    }
  };
  const { tracing } = deps;
  if (!tracing) return serve;
  return (request: FastifyRequest, reply: FastifyReply): Promise<void> =>
    tracing.rpc({ id: request.id, traceparent: request.headers.traceparent }, (traced) =>
      serve(request, reply, traced),
    );
}
