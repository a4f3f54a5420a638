/**
 * ssh's escape, read from the keyboard: `~.` at the start of a line drops the session, `~~` sends
 * one `~`; any other byte after a `~` goes out with it. Where we are in a line is the state, so a
 * `~` at the end of one read and the `.` at the start of the next still count.
 */
export type EscapeState = 'lineStart' | 'tilde' | 'inLine';

export interface ScannedInput {
  /** The bytes to send on. */
  readonly forward: Uint8Array;
  readonly state: EscapeState;
  /** `~.` was typed: drop the session (what came before it is in `forward`). */
  readonly disconnect: boolean;
}

const tilde = 0x7e;
const dot = 0x2e;
const isNewline = (byte: number) => byte === 0x0d || byte === 0x0a;

/** The escape reading of one chunk of keyboard input, from the state the last chunk left. */
export function scanInput(bytes: Uint8Array, state: EscapeState): ScannedInput {
  const out: number[] = [];
  let now = state;
  for (const byte of bytes) {
    if (now === 'tilde') {
      if (byte === dot) return { forward: Uint8Array.from(out), state: 'inLine', disconnect: true };
      if (byte !== tilde) out.push(tilde);
      out.push(byte);
      now = isNewline(byte) ? 'lineStart' : 'inLine';
    } else if (now === 'lineStart' && byte === tilde) {
      now = 'tilde';
    } else {
      out.push(byte);
      now = isNewline(byte) ? 'lineStart' : 'inLine';
    }
  }
  return { forward: Uint8Array.from(out), state: now, disconnect: false };
}

/** Words a POSIX shell reads back as they are: plain ones bare, others in single quotes. */
export function shellQuote(words: readonly string[]): string {
  return words
    .map((word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`))
    .join(' ');
}
