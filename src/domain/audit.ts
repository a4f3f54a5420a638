/**
 * The audit trail's records (docs/audit.md): one per API call, agent registration or
 * deregistration, and terminal session open. Pure: what a record holds, how a request's parameters
 * are redacted and bounded, which resource ids it names. Field names follow ActionTrail's events.
 */

/** Who made the call: the root key, another (RAM) key, an agent, or nobody known. */
export type IdentityType = 'root-account' | 'ram-user' | 'instance' | 'activation' | 'anonymous';

/** Where the call came from: the API (SDK, CLI), the web console, an agent, a session client. */
export type EventSource = 'api' | 'console' | 'agent' | 'session';

export interface AuditEvent {
  /** A UUID of its own; the request id may repeat across a retried call, the event id never. */
  readonly eventId: string;
  readonly timeMs: number;
  /** The action (`InvokeCommand`) or the non-API event (`RegisterInstance`, `OpenTerminalSession`). */
  readonly eventName: string;
  readonly eventSource: EventSource;
  /** RAM's product code (`ecs`, `ram`, `actiontrail`…). */
  readonly serviceName: string;
  readonly apiVersion: string;
  readonly eventRW: 'Read' | 'Write';
  readonly requestId: string;
  readonly regionId: string;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** The access key that signed the call (never its secret); the claimed one when it failed. */
  readonly accessKeyId: string;
  readonly identityType: IdentityType;
  readonly principalId: string;
  readonly userName: string;
  /** Ids the call names (instances, commands, invocations, activations, sessions…). */
  readonly resourceIds: readonly string[];
  /** The request's parameters, secrets and script content replaced by a digest, bounded. */
  readonly requestParameters: Readonly<Record<string, string>>;
  /** Empty for a success. */
  readonly errorCode: string;
  readonly errorMessage: string;
}

/** Bounds of one record: a hostile request cannot make a record larger than about 20 KB. */
export const auditLimits = {
  parameters: 100,
  nameChars: 128,
  valueChars: 1024,
  parameterChars: 16 * 1024,
  resourceIds: 60,
  resourceIdChars: 128,
  textChars: 512,
} as const;

/** Protocol parameters that say nothing about the call itself (the signature's own fields). */
const protocolParameters = new Set([
  'Action',
  'Version',
  'Format',
  'AccessKeyId',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'Timestamp',
]);

const clip = (text: string, chars: number): string =>
  text.length > chars ? `${text.slice(0, chars)}…(${text.length} chars)` : text;

/**
 * Parameters whose values are secrets or scripts: passwords, secrets, tokens that authenticate,
 * signatures, activation codes, script and file content, custom parameter values (which may hold
 * secrets: their declarations are not at hand here, so every value is digested).
 */
const secretAnywhere = /password|secret|credential|privatekey|activationcode/i;
const secretLeaf = /^(securitytoken|signature|commandcontent|content|parameters)$/i;

/** Whether a parameter's value must never be stored in clear (`Value` of a secret parameter too). */
export function isSecretParameter(action: string, name: string): boolean {
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  if (secretAnywhere.test(leaf) || secretLeaf.test(leaf)) return true;
  return leaf === 'Value' && !name.startsWith('Tag.') && /secret/i.test(action);
}

/** Custom parameters keep their names (which say what was passed), never their values. */
function digestParameters(value: string, digest: (value: string) => string): string {
  try {
    const map: unknown = JSON.parse(value);
    if (map !== null && typeof map === 'object' && !Array.isArray(map)) {
      const names = Object.keys(map).slice(0, auditLimits.parameters);
      return JSON.stringify(
        Object.fromEntries(
          names.map((name) => [
            clip(name, auditLimits.nameChars),
            digest(String((map as Record<string, unknown>)[name])),
          ]),
        ),
      );
    }
  } catch {
    // not a JSON map: digested whole
  }
  return digest(value);
}

/**
 * The parameters a record keeps: protocol fields left out, secrets digested (`digest` is keyed by
 * the caller, so a short secret cannot be found by hashing guesses), each name and value clipped,
 * at most `auditLimits.parameters` entries and `parameterChars` characters in all.
 */
export function redactParameters(
  action: string,
  params: ReadonlyMap<string, string>,
  digest: (value: string) => string,
): Record<string, string> {
  // No prototype: a parameter named "__proto__" must stay a plain entry.
  const kept: Record<string, string> = Object.create(null);
  let chars = 0;
  let count = 0;
  let left = 0;
  for (const [name, value] of params) {
    if (protocolParameters.has(name)) continue;
    const shown = !isSecretParameter(action, name)
      ? clip(value, auditLimits.valueChars)
      : name === 'Parameters'
        ? clip(digestParameters(value, digest), auditLimits.valueChars * 4)
        : digest(value);
    let key = safeName(name);
    while (key in kept) key = `${key}_`;
    if (count >= auditLimits.parameters || chars + key.length + shown.length > auditLimits.parameterChars) {
      left += 1;
      continue;
    }
    kept[key] = shown;
    count += 1;
    chars += key.length + shown.length;
  }
  if (left > 0) kept.MoreParametersNotRecorded = String(left);
  return kept;
}

/**
 * A parameter's name as a record keeps it: what a name on the wire may hold (letters, digits, `.`,
 * `_`, `-`), so it is also a safe XML element name (LookupEvents answers XML too) and a caller
 * cannot shape a record's structure with a name like `a><eventName>`. Anything else becomes `_`.
 */
export function safeName(name: string): string {
  const cleaned = name.slice(0, auditLimits.nameChars).replace(/[^A-Za-z0-9._-]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/** Parameters that name one resource, and the list forms (`InstanceId.N`) that name several. */
const resourceParameter =
  /^(InstanceId|InstanceIds|CommandId|InvokeId|ActivationId|SessionId|WebhookId|UploadId|ResourceGroupId|ResourceId|AccessKeyId|UserAccessKeyId|Name|Names)(\.\d+)?$/;

/** Actions whose `Name` is a resource id (parameter store); elsewhere a name is only a label. */
const namedByName = /Parameter/;

/**
 * The resource ids a call names, in order, without repeats, bounded. JSON-array parameters
 * (`InstanceIds='["i-1"]'`, parameter `Names`) are read as lists.
 */
export function resourceIdsOf(action: string, params: ReadonlyMap<string, string>): string[] {
  const ids = new Set<string>();
  const add = (id: unknown) => {
    if (typeof id !== 'string' || id === '' || ids.size >= auditLimits.resourceIds) return;
    ids.add(id.slice(0, auditLimits.resourceIdChars));
  };
  for (const [name, value] of params) {
    const match = resourceParameter.exec(name);
    if (!match) continue;
    const base = match[1] ?? '';
    if ((base === 'Name' || base === 'Names') && !namedByName.test(action)) continue;
    // The signing key's own id is the record's accessKeyId, not a resource (V1 sends it here).
    if (base === 'AccessKeyId' && !/AccessKey/.test(action)) continue;
    if (value.startsWith('[')) {
      try {
        const list: unknown = JSON.parse(value);
        if (Array.isArray(list)) for (const item of list) add(item);
        continue;
      } catch {
        // not a list: kept as one id
      }
    }
    add(value);
  }
  return [...ids];
}

/** Reads are Describe/List/Get/Lookup calls; everything else changes something. */
export const eventRWOf = (name: string): AuditEvent['eventRW'] =>
  /^(Describe|List|Get|Lookup|Query)/.test(name) ? 'Read' : 'Write';

/** Bounds free text (user agents, error messages) a client chooses. */
export const clipText = (text: string): string => clip(text, auditLimits.textChars);

/** A record as ActionTrail's LookupEvents and the JSON-lines export show it. */
export function actionTrailEvent(event: AuditEvent): Record<string, unknown> {
  return {
    eventId: event.eventId,
    eventName: event.eventName,
    eventSource: event.eventSource,
    eventType: event.eventSource === 'console' ? 'ConsoleOperation' : 'ApiCall',
    eventVersion: 1,
    eventTime: `${new Date(event.timeMs).toISOString().slice(0, 19)}Z`,
    eventRW: event.eventRW,
    acsRegion: event.regionId,
    requestId: event.requestId,
    apiVersion: event.apiVersion,
    serviceName: event.serviceName,
    sourceIpAddress: event.sourceIp,
    userAgent: event.userAgent,
    userIdentity: {
      type: event.identityType,
      principalId: event.principalId,
      accessKeyId: event.accessKeyId,
      userName: event.userName,
    },
    requestParameters: { ...event.requestParameters },
    resourceName: event.resourceIds.join(';'),
    errorCode: event.errorCode,
    errorMessage: event.errorMessage,
  };
}
