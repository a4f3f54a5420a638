import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { parseRangeStart } from '../domain/file-upload.js';
import { filesPath } from '../protocol/messages.js';
import type { FileUploadService } from '../service/file-uploads.js';
import { type InstanceService, ThrottledError } from '../service/instances.js';
import { sendError } from './rpc.js';

export interface AgentFileDeps {
  readonly instances: Pick<InstanceService, 'admitChannel'>;
  readonly fileUploads: Pick<FileUploadService, 'forAgent' | 'read'>;
}

type FileRequest = FastifyRequest<{ Params: { invokeId: string } }>;

/**
 * Streams the file of a SendFile invocation to an agent of an instance it targets, from the store
 * a chunk at a time: the next chunk is read only once the socket took the last (backpressure), so
 * a slow agent costs one chunk of memory. `Range: bytes=N-` resumes a dropped download.
 */
async function sendFile(
  request: FileRequest,
  reply: FastifyReply,
  deps: AgentFileDeps,
  open: Set<FastifyReply>,
): Promise<void> {
  try {
    const instanceId = String(request.headers['x-openassist-instance-id'] ?? '');
    const token = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
    const admission = await deps.instances.admitChannel(instanceId, token, request.ip);
    if (!('admitted' in admission)) {
      if (admission.refused === 'throttled') {
        reply.header('retry-after', String(admission.retryAfterSeconds));
        throw new ThrottledError(admission.retryAfterSeconds);
      }
      throw new ApiError('InvalidToken.Agent');
    }
    const upload = await deps.fileUploads.forAgent(admission.admitted.id, request.params.invokeId);
    let start: number | undefined;
    try {
      start = parseRangeStart(request.headers.range, upload.sizeBytes);
    } catch (error) {
      reply.header('content-range', `bytes */${upload.sizeBytes}`);
      throw error;
    }
    const from = start ?? 0;
    reply
      .header('accept-ranges', 'bytes')
      .header('content-length', String(upload.sizeBytes - from))
      .header('cache-control', 'no-store')
      .header('x-openassist-sha256', upload.sha256)
      .type('application/octet-stream');
    if (start !== undefined) {
      reply.code(206).header('content-range', `bytes ${start}-${upload.sizeBytes - 1}/${upload.sizeBytes}`);
    }
    open.add(reply);
    reply.raw.once('close', () => open.delete(reply));
    return reply.send(
      Readable.from(deps.fileUploads.read(upload, from), { objectMode: false, highWaterMark: 1 }),
    );
  } catch (error) {
    return sendError(request, reply, error);
  }
}

export function registerAgentFileRoutes(app: FastifyInstance, deps: AgentFileDeps): void {
  // A download in flight would hold the server's close until its agent had read it all: cut it
  // instead; the agent resumes from the bytes it has, here after a restart or on another node.
  const open = new Set<FastifyReply>();
  app.addHook('preClose', async () => {
    for (const reply of open) reply.raw.destroy();
  });
  app.get<{ Params: { invokeId: string } }>(`${filesPath}:invokeId`, (request, reply) =>
    sendFile(request, reply, deps, open),
  );
}
