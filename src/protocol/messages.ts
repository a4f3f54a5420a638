import { isRecord } from '../guards.js';
import {
  agentMessageChecks,
  checkRefusal,
  checkRegisterRequest,
  checkRegisterResponse,
  serverMessageChecks,
} from './message-checks.js';
// Types only: the schemas (and TypeBox) are not loaded at run time; message-checks.ts holds their checks.
import type {
  AgentHealthSchema,
  AgentSpanSchema,
  agentMessageSchemas,
  FileTaskSchema,
  FinishedStatusSchema,
  HeldRunSchema,
  Message,
  RefusalSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
  ResourceCapsSchema,
  ResourceUsageReportSchema,
  SessionOpenSchema,
  serverMessageSchemas,
  TaskEventSchema,
  TaskSpecSchema,
  UpgradeOfferSchema,
} from './message-schemas.js';

/**
 * The agent ⇄ server protocol (docs/agent-protocol.md): JSON text frames over one WebSocket.
 * Shared by both sides and nothing else; each message is defined once, as a schema, in
 * message-schemas.ts, whose checks are compiled ahead of time into message-checks.ts. Every state-changing agent message carries an id that the server
 * acknowledges; both sides ignore duplicates.
 */

export const protocolVersion = 1;
export const channelPath = '/agent/v1/channel';
export const registerPath = '/agent/v1/register';
/** An agent ends its own registration (uninstall): authenticated like the channel. */
export const deregisterPath = '/agent/v1/deregister';
/**
 * `GET <filesPath><invokeId>`: an agent downloads the file a SendFile invocation sends to its
 * instance (authenticated like the channel), from `Range: bytes=N-` when it resumes.
 */
export const filesPath = '/agent/v1/files/';
/** `GET <sessionsPath><sessionId>`: the agent's WebSocket for one terminal session's frames (authenticated like the channel). */
export const sessionsPath = '/agent/v1/sessions/';
/** Largest frame either side accepts: an output chunk of 64 KiB Base64-encoded, with room to spare. */
export const maxFrameBytes = 256 * 1024;

export { maxOutputChunkBytes, messageLimits } from './message-limits.js';

export type RegisterRequest = Message<typeof RegisterRequestSchema>;
export type RegisterResponse = Message<typeof RegisterResponseSchema>;
/** A task as the agent receives it: the final script, parameters already substituted. */
export type TaskSpec = Message<typeof TaskSpecSchema>;
export type FileTask = Message<typeof FileTaskSchema>;
export type FinishedStatus = Message<typeof FinishedStatusSchema>;
export type TaskEvent = Message<typeof TaskEventSchema>;
export type AgentSpan = Message<typeof AgentSpanSchema>;
/** A run the agent holds, by invocation and run (0: the task itself). */
export type HeldRun = Message<typeof HeldRunSchema>;
export type AgentMessage = Message<(typeof agentMessageSchemas)[number]>;
export type ServerMessage = Message<(typeof serverMessageSchemas)[number]>;
/** The server's executable is newer than the agent: see `UpgradeOfferSchema`. */
export type UpgradeOffer = Message<typeof UpgradeOfferSchema>;
/** A terminal session waits for the agent: see `SessionOpenSchema`. */
export type SessionOpen = Message<typeof SessionOpenSchema>;
/** The caps an agent puts on itself: see `ResourceCapsSchema`. */
export type ResourceCaps = Message<typeof ResourceCapsSchema>;
/** What an agent says of itself with a heartbeat: see `AgentHealthSchema`. */
export type AgentHealthReport = Message<typeof AgentHealthSchema>;
/** What an agent applied of its caps: see `ResourceUsageReportSchema`. */
export type ResourceUsageReport = Message<typeof ResourceUsageReportSchema>;

/**
 * One check per message type, chosen by the frame's `type`: a frame is checked against its own
 * schema only, which keeps the per-frame cost at the hand-written checks' level.
 */
function checkByType<T>(
  checks: readonly { readonly type: string; readonly check: (value: unknown) => boolean }[],
) {
  // A handful of types: comparing each is quicker than hashing the type into a Map.
  return (value: Record<string, unknown>): value is Record<string, unknown> & T => {
    for (const { type, check } of checks) if (value.type === type) return check(value);
    return false;
  };
}

const isAgentMessage = checkByType<AgentMessage>(agentMessageChecks);
const isServerMessage = checkByType<ServerMessage>(serverMessageChecks);

/** A frame's JSON object; an empty one (matching no message type) when the text is not one. */
function jsonRecord(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}

/** Parses an agent's frame; undefined when it is not a well-formed message (the server then closes). */
export function parseAgentMessage(text: string): AgentMessage | undefined {
  const value = jsonRecord(text);
  return isAgentMessage(value) ? value : undefined;
}

/** Parses a server frame on the agent side; undefined when it is not a well-formed message. */
export function parseServerMessage(text: string): ServerMessage | undefined {
  const value = jsonRecord(text);
  return isServerMessage(value) ? value : undefined;
}

/** A registration body as the server reads it (`JSON.parse`d). */
export const isRegisterRequest = (value: unknown): value is RegisterRequest => checkRegisterRequest(value);

/** A registration answer as the agent reads it (`JSON.parse`d). */
export const isRegisterResponse = (value: unknown): value is RegisterResponse => checkRegisterResponse(value);

/** The code and message of a refused registration or deregistration (the API's error body). */
export type Refusal = Message<typeof RefusalSchema>;

const isRefusal = (value: unknown): value is Refusal => checkRefusal(value);

/** Reads a refusal's code and message from an answer's body; none when it is not such a body. */
export function parseRefusal(text: string): Refusal {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  return isRefusal(value) ? value : {};
}
