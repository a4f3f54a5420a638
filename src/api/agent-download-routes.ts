import { createReadStream } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { errnoCode } from '../guards.js';
import { sendError } from './rpc.js';

/**
 * What a new machine needs from the server, without an access key (nothing here is secret):
 * `GET /agent/install.sh`, the installer with this server's URL as its default, and
 * `GET /agent/download/<file>`, the agent executable of the server's own build and its checksum.
 */

export const installScriptPath = '/agent/install.sh';
export const downloadPath = '/agent/download/';

// The architectures the installer maps `uname -m` to; any other name is not a file we serve.
const servedFile = /^openassist-agent-linux-(x64|arm64)(\.sha256)?$/;

/**
 * `dist/agent` of this package, where `npm run build` puts the executables: this module runs from
 * src/api/ (tests) or dist/src/api/. (Not in config.ts: the agent's bundle has no import.meta.)
 */
export function packageAgentDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root =
    basename(dirname(dirname(here))) === 'dist' ? resolve(here, '../../..') : resolve(here, '../..');
  return join(root, 'dist', 'agent');
}

export interface AgentDownloadOptions {
  /** Where the build put the executables (OPENASSIST_AGENT_DIR); undefined: none served. */
  readonly agentDir: string | undefined;
  /** The scheme clients reach this server with (https when it serves TLS). */
  readonly protocol: 'http' | 'https';
}

// A host name, IPv4 or bracketed IPv6 address with an optional port: safe to put in a shell script.
const safeHost = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The URL the machine fetching the script used to reach us: its Host header when that is a plain
 * host[:port] (it reaches this server from there), else the address the connection came in on.
 */
function ownUrl(request: FastifyRequest, protocol: string): string {
  const host = request.headers.host;
  if (host !== undefined && safeHost.test(host)) return `${protocol}://${host}`;
  const address = (request.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return `${protocol}://${address.includes(':') ? `[${address}]` : address}:${request.socket.localPort}`;
}

// Beside this module: src/api/ (tests) or dist/src/api/ (the build copies it). Read once, when first asked.
let scriptTemplate: Promise<string> | undefined;

async function sendInstallScript(request: FastifyRequest, reply: FastifyReply, protocol: string) {
  scriptTemplate ??= readFile(new URL('./install.sh', import.meta.url), 'utf8');
  const script = (await scriptTemplate).replaceAll('@SERVER_URL@', ownUrl(request, protocol));
  return reply
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .type('text/x-shellscript; charset=utf-8')
    .send(script);
}

const notFound = (message: string) => new ApiError('AgentFile.NotFound', message);

/** Streams one file of the build: opened once, so a build replacing it meanwhile cannot mix two versions. */
async function sendAgentFile(
  request: FastifyRequest<{ Params: { '*': string } }>,
  reply: FastifyReply,
  agentDir: string | undefined,
) {
  const name = request.params['*'];
  if (!servedFile.test(name)) {
    return sendError(
      request,
      reply,
      notFound('Only openassist-agent-linux-x64, openassist-agent-linux-arm64 and their .sha256 are served.'),
    );
  }
  let file: FileHandle | undefined;
  try {
    if (agentDir === undefined) throw Object.assign(new Error('no agent dir'), { code: 'ENOENT' });
    file = await open(join(agentDir, name), 'r');
    const stats = await file.stat();
    if (!stats.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
    reply
      .header('content-length', String(stats.size))
      .header('cache-control', 'no-cache')
      .header('last-modified', stats.mtime.toUTCString())
      .header('x-content-type-options', 'nosniff')
      .type(name.endsWith('.sha256') ? 'text/plain; charset=utf-8' : 'application/octet-stream');
    if (request.method === 'HEAD') {
      await file.close();
      return reply.send();
    }
    const stream = createReadStream('', { fd: file, autoClose: true });
    file = undefined;
    return reply.send(stream);
  } catch (error) {
    await file?.close();
    if (errnoCode(error) !== 'ENOENT') throw error;
    return sendError(
      request,
      reply,
      notFound(`${name} is not built on this server: run npm run build there (or set OPENASSIST_AGENT_DIR).`),
    );
  }
}

export function registerAgentDownloadRoutes(app: FastifyInstance, options: AgentDownloadOptions): void {
  app.get(installScriptPath, (request, reply) => sendInstallScript(request, reply, options.protocol));
  // A wildcard, so any other path below it (a/b, ../x) gets the same clear 404 as a wrong name.
  // HEAD declared here: Fastify's own would read the whole file to discard it.
  app.route<{ Params: { '*': string } }>({
    method: ['GET', 'HEAD'],
    url: `${downloadPath}*`,
    handler: (request, reply) => sendAgentFile(request, reply, options.agentDir),
  });
}
