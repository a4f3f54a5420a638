import { errnoCode, isRecord } from '../guards.js';
import { type CallBody, type Credentials, ecsVersion, signCall } from './sign.js';

export interface ApiResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** An error answer of the API, with Alibaba's code and message. */
export class ApiCallError extends Error {
  constructor(
    readonly action: string,
    readonly status: number,
    readonly code: string,
    readonly serverMessage: string,
    readonly requestId: string,
  ) {
    super(`${action}: ${code}: ${serverMessage}`);
  }
}

/** The endpoint did not answer at all (refused, unknown host, reset): says where it looked and why. */
export class UnreachableError extends Error {
  constructor(
    readonly endpoint: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${endpoint}: ${reason}`);
  }
}

/** fetch, with a failure to connect (fetch's bare "fetch failed") named by the endpoint and its cause. */
export async function reach(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const { cause } = error;
    const reason = cause instanceof Error ? (errnoCode(cause) ?? cause.message) : error.message;
    throw new UnreachableError(new URL(url).origin, reason);
  }
}

/** An answer's JSON object; one saying InvalidResponse when the text is not one. */
export function responseBody(text: string): Record<string, unknown> {
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body)) return body;
  } catch {
    // reported below
  }
  return { Code: 'InvalidResponse', Message: text.slice(0, 500) };
}

/** Calls one action and returns the status and the parsed body, error or not. */
export async function callApi(
  credentials: Credentials,
  action: string,
  params: ReadonlyMap<string, string>,
  version = ecsVersion,
  body?: CallBody,
): Promise<ApiResponse> {
  const { url, headers } = await signCall(credentials, action, params, version, body);
  const response = await reach(url, { method: 'POST', headers, ...(body && { body: body.bytes }) });
  const text = await response.text();
  return { status: response.status, body: responseBody(text) };
}

/** Calls one action; an error answer throws ApiCallError. */
export async function invoke<T = Record<string, unknown>>(
  credentials: Credentials,
  action: string,
  params: Readonly<Record<string, string | number | boolean | undefined>>,
  version = ecsVersion,
  body?: CallBody,
): Promise<T> {
  const wire = new Map<string, string>();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) wire.set(name, String(value));
  }
  const response = await callApi(credentials, action, wire, version, body);
  if (response.status >= 400) {
    const { Code, Message, RequestId } = response.body;
    throw new ApiCallError(action, response.status, String(Code), String(Message), String(RequestId ?? ''));
  }
  // The caller names the answer's shape (the API's documented fields); it is not checked here.
  return response.body as T;
}
