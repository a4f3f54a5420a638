/** Output is sent in chunks of at most this many raw bytes. */
export const maxOutputChunkBytes = 64 * 1024;

/**
 * Bounds on what one agent message may hold (docs/agent-protocol.md): a message past any of them
 * is malformed (the server closes the channel). Each is well above what a real agent sends.
 */
export const messageLimits = {
  /** Entries of `hello.schedules` and of `hello.runs`: an agent holding more leaves the list out. */
  heldEntries: 2_000,
  /** Characters of an id (invocation, event): the server's are 34, the agent's are counters. */
  idChars: 64,
  /** Characters of a hello's descriptive text (host name, OS version, …) and of an error code. */
  textChars: 1_024,
  /** Entries of `hello.shells`. */
  shells: 16,
  /** Characters of a finished event's `errorInfo`. */
  errorInfoChars: 16 * 1024,
  /** Characters of an output event's Base64 `data`: one chunk of `maxOutputChunkBytes`. */
  outputDataChars: Math.ceil(maxOutputChunkBytes / 3) * 4,
  /** Spans a finished event carries (docs/tracing.md): the agent records two per run. */
  spans: 8,
  /** Characters of a span's name, and of an attribute's key. */
  spanNameChars: 64,
  /** Attributes of one span, and the characters of a text value. */
  spanAttributes: 16,
  spanAttributeChars: 256,
} as const;
