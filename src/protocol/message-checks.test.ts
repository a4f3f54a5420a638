import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { messageChecksSource } from './message-checks-source.js';

describe('the compiled message checks', () => {
  it('are what the schemas compile to today (else run `npm run generate:checks`)', () => {
    const committed = readFileSync(new URL('./message-checks.ts', import.meta.url), 'utf8');
    expect(committed).toBe(messageChecksSource());
  });
});
