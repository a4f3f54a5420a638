import type { FastifyInstance } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { isRecord } from '../guards.js';
import {
  deregisterPath,
  isRegisterRequest,
  type RegisterRequest,
  registerPath,
} from '../protocol/messages.js';
import { registerRequestProblem } from '../protocol/registration-problem.js';
import { type InstanceService, ThrottledError } from '../service/instances.js';
import { sendError } from './rpc.js';

/** The registration credentials, each checked first so that a missing one is named as such. */
const credentials = ['activationId', 'activationCode'] as const;

function readRegisterRequest(body: unknown): RegisterRequest {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : '');
  } catch {
    throw new ApiError('InvalidParameter', 'The registration body must be JSON.');
  }
  if (isRegisterRequest(value)) return value;
  for (const field of credentials) {
    const given = isRecord(value) ? value[field] : undefined;
    if (typeof given !== 'string' || given === '') {
      throw new ApiError('MissingParameter', `The registration needs ${field}.`);
    }
  }
  throw new ApiError(
    'InvalidParameter',
    `The registration body is malformed at ${registerRequestProblem(value)}.`,
  );
}

/**
 * `POST /agent/v1/register`: an agent trades an activation id and code for an instance id and token.
 * `POST /agent/v1/deregister`: an agent, authenticated by that pair, removes its instance.
 */
export function registerAgentRoutes(app: FastifyInstance, instances: InstanceService): void {
  app.post(registerPath, async (request, reply) => {
    try {
      const registration = await instances.register(readRegisterRequest(request.body), request.ip);
      request.log.info({ instanceId: registration.instanceId }, 'agent registered');
      reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(registration));
    } catch (error) {
      if (error instanceof ThrottledError) reply.header('retry-after', String(error.retryAfterSeconds));
      sendError(request, reply, error);
    }
  });

  app.post(deregisterPath, async (request, reply) => {
    try {
      const instanceId = String(request.headers['x-openassist-instance-id'] ?? '');
      const token = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
      const instance = await instances.deregisterAgent(instanceId, token, request.ip);
      request.log.info({ instanceId: instance.id }, 'agent deregistered itself');
      reply
        .code(200)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify({ instanceId: instance.id }));
    } catch (error) {
      if (error instanceof ThrottledError) reply.header('retry-after', String(error.retryAfterSeconds));
      sendError(request, reply, error);
    }
  });
}
