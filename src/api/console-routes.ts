import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Serves the browser console that `npm run build` bundles into dist/console: index.html at
 * /console, content-hashed files at /console/assets/NAME. The files are small and read once.
 */

// Self only: the page calls the API (and opens terminal sessions' WebSockets, which 'self' covers
// as ws: and wss: of the same host) on its own origin, and nothing is from elsewhere. The one
// exception to "nothing inline": xterm.js writes <style> elements (its cell sizes and colours,
// computed as it lays out), which no hash can name; style attributes and scripts stay refused.
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "style-src-elem 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface ConsoleFiles {
  readonly index: Buffer;
  readonly assets: ReadonlyMap<string, Buffer>;
}

/** dist/console beside the compiled server (dist/src/api), or under dist/ when running from src/. */
function findConsoleDir(): string | undefined {
  for (const relative of ['../../console/', '../../dist/console/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

function loadConsole(dir: string): ConsoleFiles {
  const assets = new Map<string, Buffer>();
  const assetDir = `${dir}assets/`;
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) assets.set(name, readFileSync(`${assetDir}${name}`));
  }
  return { index: readFileSync(`${dir}index.html`), assets };
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', contentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

export function registerConsoleRoutes(app: FastifyInstance, dir = findConsoleDir()): void {
  const files = dir ? loadConsole(dir) : undefined;

  const sendIndex = async (_request: unknown, reply: FastifyReply) => {
    secure(reply).header('cache-control', 'no-cache');
    if (!files) {
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send('The console is not built: run npm run build.');
    }
    return reply.type(contentTypes['.html']!).send(files.index);
  };
  app.get('/console', sendIndex);
  app.get('/console/', sendIndex);

  app.get<{ Params: { name: string } }>('/console/assets/:name', async (request, reply) => {
    secure(reply);
    const body = files?.assets.get(request.params.name);
    if (!body) return reply.code(404).type('text/plain; charset=utf-8').send('Not found.');
    // Names carry their content hash: a changed file gets a new name, so a cached one never goes stale.
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type(contentTypes[extname(request.params.name)] ?? 'application/octet-stream')
      .send(body);
  });
}
