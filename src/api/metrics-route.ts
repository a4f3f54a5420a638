import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { bearerOf, isLoopback, tokenMatches } from '../telemetry/scrape-access.js';
import { sendError } from './rpc.js';

/** What the route needs of the metrics: the exposition text. */
export interface MetricsScraper {
  scrape(): Promise<{ type: string; text: string }>;
}

export interface MetricsRouteDeps {
  readonly metrics: MetricsScraper;
  /** OPENASSIST_METRICS_TOKEN; undefined: loopback clients only. */
  readonly token: string | undefined;
}

/** Why a scrape is refused, or undefined when it may read (docs/metrics.md, "Access"). */
function refusalOf(request: FastifyRequest, token: string | undefined): ApiError | undefined {
  if (token !== undefined) {
    return tokenMatches(bearerOf(request.headers.authorization), token)
      ? undefined
      : new ApiError('InvalidToken.Metrics');
  }
  // The socket's own peer: a proxy's forwarding headers are not believed.
  return isLoopback(request.socket.remoteAddress) ? undefined : new ApiError('Forbidden.Metrics');
}

/** `GET /metrics`: the Prometheus text format, on the API's own port. */
export function registerMetricsRoute(app: FastifyInstance, deps: MetricsRouteDeps): void {
  app.get('/metrics', async (request, reply) => {
    const refusal = refusalOf(request, deps.token);
    if (refusal) {
      if (refusal.status === 401) reply.header('www-authenticate', 'Bearer realm="openassist-metrics"');
      sendError(request, reply, refusal);
      return;
    }
    const { type, text } = await deps.metrics.scrape();
    reply.code(200).type(type).header('cache-control', 'no-store').send(text);
  });
}
