import { ApiCallError, invoke } from '../../client/api.js';
import type { Session } from './session.js';

export type Params = Readonly<Record<string, string | number | boolean | undefined>>;

/** One signed call in the session's region; errors throw ApiCallError with the API's code and message. */
export function call<T = Record<string, unknown>>(session: Session, action: string, params: Params = {}) {
  return invoke<T>(session, action, { RegionId: session.regionId, ...params });
}

/** What a person should read about a failure: the API's code and message when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof ApiCallError) return `${error.code}: ${error.serverMessage}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** `Name.1`, `Name.2`, … for a list parameter. */
export function listParams(name: string, values: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  values.forEach((value, i) => {
    params[`${name}.${i + 1}`] = value;
  });
  return params;
}

/** Alibaba's times (`2026-01-02T03:04:05Z`) shown in the browser's zone; empty stays empty. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
