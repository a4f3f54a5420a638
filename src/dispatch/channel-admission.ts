import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket, WebSocketServer } from 'ws';
import { rawErrorResponse } from '../api/error-response.js';
import { ApiError } from '../domain/errors.js';
import type { ManagedInstance } from '../domain/fleet.js';
import { newRequestId } from '../domain/ids.js';
import { channelPath } from '../protocol/messages.js';
import type { AgentSessions } from '../service/agent-sessions.js';
import { ThrottledError } from '../service/instances.js';

export interface AdmissionDeps {
  readonly sessions: Pick<AgentSessions, 'admitChannel'>;
  readonly wss: WebSocketServer;
  readonly logger: FastifyBaseLogger;
}

/** Answers a refused upgrade with the API's error body, so the agent can say why it was refused. */
function refuseUpgrade(
  request: IncomingMessage,
  socket: Duplex,
  error: ApiError,
  headers: Record<string, string> = {},
): void {
  socket.end(rawErrorResponse(error, { requestId: newRequestId(), host: request.headers.host }, headers));
}

/**
 * Authenticates an HTTP upgrade to the agent channel (instance id and token, throttled per
 * address) and hands the admitted WebSocket to `admitted`; a refusal is answered with the API's
 * error. Returns false when the path is not the agent channel.
 */
export function admitUpgrade(
  deps: AdmissionDeps,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  admitted: (ws: WebSocket, instance: ManagedInstance) => void,
): boolean {
  if ((request.url ?? '').split('?')[0] !== channelPath) return false;
  const instanceId = String(request.headers['x-openassist-instance-id'] ?? '');
  const token = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
  const address = request.socket.remoteAddress ?? '';
  deps.sessions.admitChannel(instanceId, token, address).then(
    (admission) => {
      if ('admitted' in admission) {
        const instance = admission.admitted;
        deps.wss.handleUpgrade(request, socket, head, (ws) => admitted(ws, instance));
      } else if (admission.refused === 'throttled') {
        refuseUpgrade(request, socket, new ThrottledError(admission.retryAfterSeconds), {
          'Retry-After': String(admission.retryAfterSeconds),
        });
      } else {
        refuseUpgrade(request, socket, new ApiError('InvalidToken.Agent'));
      }
    },
    (error: unknown) => {
      deps.logger.error({ err: error }, 'agent authentication failed');
      refuseUpgrade(request, socket, new ApiError('ServiceUnavailable'));
    },
  );
  return true;
}
