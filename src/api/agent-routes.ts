import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { isRecord } from '../guards.js';
import {
  deregisterPath,
  isRegisterRequest,
  type RegisterRequest,
  registerPath,
} from '../protocol/messages.js';
import { registerRequestProblem } from '../protocol/registration-problem.js';
import type { Identity } from '../service/audit-events.js';
import type { AuditTrail } from '../service/audit-trail.js';
import { type InstanceService, ThrottledError } from '../service/instances.js';
import { apiErrorOf, sendError } from './rpc.js';

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

/** A string field of a JSON body that may be malformed, clipped: what the record of a refusal shows. */
function fieldOf(body: unknown, field: string): string {
  try {
    const value: unknown = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : '');
    const given = isRecord(value) ? value[field] : undefined;
    return typeof given === 'string' ? given.slice(0, 128) : '';
  } catch {
    return '';
  }
}

/** An agent's call as the audit trail records it (docs/audit.md); stored before it is answered. */
function auditAgentCall(
  audit: AuditTrail,
  request: FastifyRequest,
  call: { name: string; identity: Identity; params: Map<string, string>; instanceId: string; error: unknown },
): Promise<void> {
  const error = call.error === undefined ? undefined : apiErrorOf(call.error);
  return audit.recordCall({
    timeMs: Date.now(),
    name: call.name,
    source: 'agent',
    serviceName: 'ecs',
    apiVersion: '',
    requestId: request.id,
    regionId: '',
    sourceIp: request.ip,
    userAgent: request.headers['user-agent'] ?? '',
    identity: call.identity,
    params: call.params,
    extraResourceIds: call.instanceId ? [call.instanceId] : [],
    errorCode: error?.code ?? '',
    errorMessage: error?.message ?? '',
  });
}

/**
 * `POST /agent/v1/register`: an agent trades an activation id and code for an instance id and token.
 * `POST /agent/v1/deregister`: an agent, authenticated by that pair, removes its instance.
 */
export function registerAgentRoutes(
  app: FastifyInstance,
  instances: InstanceService,
  audit: AuditTrail,
): void {
  app.post(registerPath, async (request, reply) => {
    // The activation code is the credential: never recorded, not even digested.
    const activationId = fieldOf(request.body, 'activationId');
    let audited: Promise<void> | undefined;
    const record = (instanceId: string, error?: unknown) =>
      (audited ??= auditAgentCall(audit, request, {
        name: 'RegisterInstance',
        identity: { type: 'activation', principalId: activationId, userName: activationId, accessKeyId: '' },
        params: new Map([
          ['ActivationId', activationId],
          ['Hostname', fieldOf(request.body, 'hostname')],
        ]),
        instanceId,
        error,
      }));
    try {
      const registration = await instances.register(readRegisterRequest(request.body), request.ip);
      request.log.info({ instanceId: registration.instanceId }, 'agent registered');
      await record(registration.instanceId);
      reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(registration));
    } catch (error) {
      if (error instanceof ThrottledError) reply.header('retry-after', String(error.retryAfterSeconds));
      sendError(request, reply, await answerOf(record('', error), error));
    }
  });

  app.post(deregisterPath, async (request, reply) => {
    const instanceId = String(request.headers['x-openassist-instance-id'] ?? '').slice(0, 64);
    let audited: Promise<void> | undefined;
    const record = (error?: unknown) =>
      (audited ??= auditAgentCall(audit, request, {
        name: 'DeregisterInstance',
        identity: { type: 'instance', principalId: instanceId, userName: instanceId, accessKeyId: '' },
        params: new Map([['InstanceId', instanceId]]),
        instanceId: '',
        error,
      }));
    try {
      const token = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
      const instance = await instances.deregisterAgent(instanceId, token, request.ip);
      request.log.info({ instanceId: instance.id }, 'agent deregistered itself');
      await record();
      reply
        .code(200)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify({ instanceId: instance.id }));
    } catch (error) {
      if (error instanceof ThrottledError) reply.header('retry-after', String(error.retryAfterSeconds));
      sendError(request, reply, await answerOf(record(error), error));
    }
  });
}

/** A refusal is answered as such once recorded; a call whose record failed, with that failure. */
const answerOf = (recorded: Promise<void>, error: unknown): Promise<unknown> =>
  recorded.then(
    () => error,
    (unrecorded: unknown) => unrecorded,
  );
