import { randomUUID } from 'node:crypto';
import {
  type AuditEvent,
  auditLimits,
  clipText,
  type EventSource,
  eventRWOf,
  type IdentityType,
  redactParameters,
  resourceIdsOf,
} from '../domain/audit.js';
import type { AccessKey } from '../store/store.js';
import { isRoot } from './access-keys.js';

/** Who made a call, as a record names them. */
export interface Identity {
  readonly type: IdentityType;
  readonly principalId: string;
  readonly userName: string;
  readonly accessKeyId: string;
}

/** The root key is the account's own; any other key is a RAM user's, named by its id. */
export const keyIdentity = (key: AccessKey): Identity =>
  isRoot(key)
    ? { type: 'root-account', principalId: 'root', userName: 'root', accessKeyId: key.id }
    : { type: 'ram-user', principalId: key.id, userName: key.id, accessKeyId: key.id };

/** The key that opened a terminal session, as DescribeTerminalSessions names its kind. */
export const sessionIdentity = (session: { accessKeyId: string; identityType: string }): Identity =>
  session.identityType === 'Account'
    ? { type: 'root-account', principalId: 'root', userName: 'root', accessKeyId: session.accessKeyId }
    : {
        type: 'ram-user',
        principalId: session.accessKeyId,
        userName: session.accessKeyId,
        accessKeyId: session.accessKeyId,
      };

/** A call that proved no key: the key id it claimed, if any, is kept to trace attempts. */
export const anonymous = (claimedKeyId: string): Identity => ({
  type: 'anonymous',
  principalId: '',
  userName: '',
  accessKeyId: claimedKeyId.slice(0, 64),
});

/** The facts of one call, as its transport knows them. */
export interface CallFacts {
  readonly timeMs: number;
  readonly name: string;
  readonly source: EventSource;
  readonly serviceName: string;
  readonly apiVersion: string;
  readonly requestId: string;
  readonly regionId: string;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly identity: Identity;
  readonly params: ReadonlyMap<string, string>;
  /** Ids the call touched that its parameters do not name (the instance a registration made). */
  readonly extraResourceIds?: readonly string[];
  readonly errorCode: string;
  readonly errorMessage: string;
}

/** The record of one call: parameters redacted and bounded with `digest`, resource ids read from them. */
export function auditEvent(facts: CallFacts, digest: (value: string) => string): AuditEvent {
  const named = resourceIdsOf(facts.name, facts.params);
  return {
    eventId: randomUUID(),
    timeMs: facts.timeMs,
    eventName: clipText(facts.name || 'Unknown'),
    eventSource: facts.source,
    serviceName: facts.serviceName,
    apiVersion: clipText(facts.apiVersion),
    eventRW: eventRWOf(facts.name),
    requestId: facts.requestId,
    regionId: clipText(facts.regionId),
    sourceIp: facts.sourceIp,
    userAgent: clipText(facts.userAgent),
    accessKeyId: facts.identity.accessKeyId,
    identityType: facts.identity.type,
    principalId: facts.identity.principalId,
    userName: facts.identity.userName,
    resourceIds: [...new Set([...(facts.extraResourceIds ?? []), ...named])].slice(
      0,
      auditLimits.resourceIds,
    ),
    requestParameters: redactParameters(facts.name, facts.params, digest),
    errorCode: facts.errorCode,
    errorMessage: clipText(facts.errorMessage),
  };
}
