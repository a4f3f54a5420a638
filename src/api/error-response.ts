import { STATUS_CODES } from 'node:http';
import type { ApiError } from '../domain/errors.js';
import { type Format, renderBody } from './render.js';

/**
 * The one renderer of Alibaba's error body, `{RequestId, HostId, Code, Message, Recommend}`: used by
 * the RPC actions, the HTTP server's own refusals (404, body too large, Node's refusals before
 * routing) and the agent's routes and channel upgrades, so every error a client reads has one shape.
 */

/** Names the server when the request named no host (HTTP/1.0, or refused before its headers were read). */
export const defaultHostId = 'openassist';

/**
 * `HostId` is the endpoint the client addressed, as Alibaba's is (`ecs.aliyuncs.com`): the request's
 * Host header, kept to printable ASCII and 255 characters, since it is echoed back.
 */
export function hostIdOf(host: string | undefined): string {
  const printable = (host ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, 255);
  return printable === '' ? defaultHostId : printable;
}

export interface ErrorContext {
  readonly requestId: string;
  /** The request's Host header, if it had one. */
  readonly host: string | undefined;
}

/** The error body's fields, in Alibaba's order. */
export function errorBody(error: ApiError, context: ErrorContext): Record<string, string> {
  return {
    RequestId: context.requestId,
    HostId: hostIdOf(context.host),
    Code: error.code,
    Message: error.message,
    Recommend: error.recommend,
  };
}

/** The body as sent: JSON, or XML under root `<Error>` with exactly the content type Alibaba's clients parse. */
export function renderError(
  error: ApiError,
  context: ErrorContext,
  format: Format = 'JSON',
): { status: number; type: string; text: string } {
  return { status: error.status, ...renderBody('Error', errorBody(error, context), format) };
}

/**
 * A whole HTTP/1.1 error response for a raw socket, where no framework answers: requests Node refuses
 * before routing and refused WebSocket upgrades. Always JSON (the agent reads `Code` from it); the
 * connection closes after it.
 */
export function rawErrorResponse(
  error: ApiError,
  context: ErrorContext,
  headers: Readonly<Record<string, string>> = {},
): string {
  const { status, type, text } = renderError(error, context, 'JSON');
  const head = Object.entries({
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(text)),
    Connection: 'close',
    ...headers,
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${head.join('')}\r\n${text}`;
}
