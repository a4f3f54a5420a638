import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { ApiError, type ErrorCode } from '../domain/errors.js';
import { fileUploadLimits } from '../domain/file-upload.js';
import { newRequestId } from '../domain/ids.js';
import type { Store } from '../store/store.js';
import type { Tracing } from '../telemetry/tracing.js';
import { AccessKeyCache } from './access-key-cache.js';
import type { Services } from './action.js';
import { registerAgentDownloadRoutes } from './agent-download-routes.js';
import { registerAgentFileRoutes } from './agent-file-routes.js';
import { registerAgentRoutes } from './agent-routes.js';
import { registerConsoleRoutes } from './console-routes.js';
import { rawErrorResponse } from './error-response.js';
import { OpenStreams } from './event-stream.js';
import { KeyStreams } from './key-streams.js';
import { type MetricsRouteDeps, registerMetricsRoute } from './metrics-route.js';
import { type ApiRequestObserver, bytesType, rpcHandler, sendError } from './rpc.js';

// Bounds for hostile or slow clients: a form body of 256 KiB, headers plus URL of 256 KiB
// (the SDK sends whole scripts in the query string), 10 s to send headers, 30 s per request
// (a streamed answer is not bound by it: the timeout covers receiving the request).
export const limits = {
  bodyBytes: 256 * 1024,
  headerBytes: 256 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  // An idle keep-alive connection is closed after this (Fastify's own default, which a server of
  // our own factory does not get; Node's is 5 s). A client reusing a connection just as the server
  // closes it sees `socket hang up`: SDKs keep idle connections far longer than 5 s.
  keepAliveTimeoutMs: 72_000,
} as const;

// While the server closes, how often connections that have finished their last answer are closed.
const closingSweepMs = 50;

export interface HttpServerDeps {
  readonly store: Store;
  readonly services: Services;
  readonly logger: FastifyBaseLogger;
  readonly nowMs: () => number;
  readonly version: string;
  /** How long an event stream may wait for its client to read before it is dropped. */
  readonly streamStallMs?: number;
  /** Takes WebSocket upgrades; returns false for paths it does not serve. */
  readonly upgrade?: (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
  /** Serve HTTPS (and wss for agents) with this certificate chain and key (PEM). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** The agent executables served to new machines (undefined: none, every download is a 404). */
  readonly agentDir?: string;
  /** Traces API requests (docs/tracing.md); undefined: tracing is off. */
  readonly tracing?: Tracing | undefined;
  /**
   * `GET /metrics` and the requests counted for it (docs/metrics.md); undefined: metrics are off,
   * nothing is counted and /metrics is a 404 like any unknown path.
   */
  readonly metrics?: MetricsRouteDeps & { readonly requests: ApiRequestObserver };
}

/** How Node's refusals before routing are answered: too large, too slow, or malformed. */
const clientErrors: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: { code: 'RequestTooLarge', message: 'The request headers and URL are too large.' },
  ERR_HTTP_REQUEST_TIMEOUT: {
    code: 'RequestTimeout',
    message: `The request was not received in time (headers ${limits.headersTimeoutMs / 1000} s, whole request ${limits.requestTimeoutMs / 1000} s).`,
  },
};
const malformedRequest = { code: 'InvalidParameter', message: 'The HTTP request is malformed.' } as const;

/**
 * The API's error body for requests Node refuses before they reach a route (oversized headers, slow
 * clients, bad framing). No request was parsed, so there is no Host header to name: HostId is the default.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const refusal = clientErrors[error.code ?? ''] ?? malformedRequest;
  const apiError = new ApiError(refusal.code);
  apiError.message = refusal.message;
  socket.end(rawErrorResponse(apiError, { requestId: newRequestId(), host: undefined }));
}

/**
 * Closing closes the connections idle at that moment; one still answering a request would stay
 * open after its answer for the whole keep-alive timeout (72 s), and the close with it. From the
 * close on, each connection is closed soon after its last answer.
 */
function closeConnectionsOnceIdle(server: FastifyInstance['server']): void {
  const sweep = setInterval(() => server.closeIdleConnections(), closingSweepMs);
  server.once('close', () => clearInterval(sweep));
}

export async function buildHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // Our own access line per RPC names the action; the default one would log URLs, which carry secrets.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'RequestId' }),
    genReqId: () => newRequestId(),
    bodyLimit: limits.bodyBytes,
    serverFactory: (handler) => {
      const options = {
        maxHeaderSize: limits.headerBytes,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        // Node checks those two timeouts on this period (30 s by default): check every second, so a
        // slow client is cut off near its deadline rather than up to 30 s later.
        connectionsCheckingInterval: 1_000,
      };
      const listener = (req: IncomingMessage, res: ServerResponse) => handler(req, res);
      const server = deps.tls
        ? createHttpsServer({ ...options, ...deps.tls }, listener)
        : createServer(options, listener);
      server.on('clientError', answerClientError);
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (!deps.upgrade?.(request, socket, head)) socket.destroy();
      });
      return server;
    },
  });

  // Bodies are kept raw: V3 signs their SHA-256, and the RPC layer decodes form bodies itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  // A part of a file upload is one bounded body, held while its signature is checked and stored.
  app.addContentTypeParser(
    bytesType,
    { parseAs: 'buffer', bodyLimit: fileUploadLimits.partBytes },
    (_request, body, done) => done(null, body),
  );

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      sendError(
        request,
        reply,
        new ApiError(
          'RequestTooLarge',
          request.headers['content-type']?.startsWith(bytesType)
            ? `A part is at most ${fileUploadLimits.partBytes} bytes.`
            : `The body is over ${limits.bodyBytes} bytes.`,
        ),
      );
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      sendError(request, reply, new ApiError('InvalidParameter', 'The HTTP request is malformed.'));
    } else {
      sendError(request, reply, error);
    }
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new ApiError('InvalidAction.NotFound', 'The API is served at path /.')),
  );

  const openStreams = new OpenStreams(deps.streamStallMs);
  const keys = new AccessKeyCache(deps.store.accessKeys);
  const unsubscribeKeys = deps.services.accessKeys.onChanged((id) => keys.forget(id));
  // A stream lives only as long as its key: ended when the key is revoked here or on another node
  // (a recheck reads the store, past the cache, and refreshes it).
  const keyStreams = new KeyStreams({ get: (id) => keys.read(id) }, deps.logger);
  const unsubscribe = deps.services.accessKeys.onRevoked((id) => keyStreams.revoke(id));
  // Open event streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    unsubscribeKeys();
    unsubscribe();
    keyStreams.stop();
    openStreams.endAll();
    closeConnectionsOnceIdle(app.server);
  });
  const rpc = rpcHandler({
    accessKeys: keys,
    nonces: deps.store.nonces,
    nowMs: deps.nowMs,
    services: deps.services,
    openStreams,
    keyStreams,
    tracing: deps.tracing,
    metrics: deps.metrics?.requests,
  });
  app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: '/', handler: rpc });

  registerAgentRoutes(app, deps.services.instances, deps.services.audit);
  registerAgentFileRoutes(app, deps.services);
  registerAgentDownloadRoutes(app, { agentDir: deps.agentDir, protocol: deps.tls ? 'https' : 'http' });
  registerConsoleRoutes(app);
  if (deps.metrics) registerMetricsRoute(app, deps.metrics);

  app.get('/health', async (_request, reply) => {
    await deps.store.ping();
    reply.send({ status: 'ok', database: deps.store.dialect, version: deps.version });
  });

  return app;
}
