import { describe, expect, it } from 'vitest';
import { type EscapeState, scanInput, shellQuote } from './session-input.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Feeds chunks one after the other, as reads from the keyboard come. */
function typed(...chunks: string[]): { sent: string; disconnect: boolean } {
  let state: EscapeState = 'lineStart';
  let sent = '';
  for (const chunk of chunks) {
    const scanned = scanInput(new TextEncoder().encode(chunk), state);
    sent += text(scanned.forward);
    state = scanned.state;
    if (scanned.disconnect) return { sent, disconnect: true };
  }
  return { sent, disconnect: false };
}

describe('the ~. escape (as in ssh)', () => {
  it('drops the session on ~. at the start or after a newline (CR, as a raw terminal sends Enter)', () => {
    expect(typed('~.')).toEqual({ sent: '', disconnect: true });
    expect(typed('ls\r~.rest')).toEqual({ sent: 'ls\r', disconnect: true });
    expect(typed('ls\n~.')).toEqual({ sent: 'ls\n', disconnect: true });
  });

  it('counts a ~ and a . that come in separate reads', () => {
    expect(typed('echo\r', '~', '.')).toEqual({ sent: 'echo\r', disconnect: true });
  });

  it('sends ~~ as one ~, and a ~ before anything else with it', () => {
    expect(typed('~~.')).toEqual({ sent: '~.', disconnect: false });
    expect(typed('~', '~', '.')).toEqual({ sent: '~.', disconnect: false });
    expect(typed('~/bin\r')).toEqual({ sent: '~/bin\r', disconnect: false });
    expect(typed('~\r~.')).toEqual({ sent: '~\r', disconnect: true });
  });

  it('leaves a ~ inside a line alone', () => {
    expect(typed('cd ~.')).toEqual({ sent: 'cd ~.', disconnect: false });
    expect(typed('a~', '.')).toEqual({ sent: 'a~.', disconnect: false });
  });

  it('passes every other byte through as it is', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 0x7e);
    const scanned = scanInput(bytes, 'inLine');
    expect(scanned.forward).toEqual(bytes);
    expect(scanned.disconnect).toBe(false);
  });
});

describe('shellQuote', () => {
  it('leaves plain words bare and single-quotes the rest', () => {
    expect(shellQuote(['ls', '-l', '/var/log', 'a=b', 'x@y:1,2+3%'])).toBe('ls -l /var/log a=b x@y:1,2+3%');
    expect(shellQuote(['echo', 'a b', "it's", '$HOME', '', '*', 'a\nb'])).toBe(
      `echo 'a b' 'it'\\''s' '$HOME' '' '*' 'a\nb'`,
    );
    expect(shellQuote(['sh', '-c', 'exit 4'])).toBe("sh -c 'exit 4'");
  });
});
