import { describe, expect, it } from 'vitest';
import { newAccessKeySecret, newCommandId, newInvokeId, newRequestId, newSessionToken } from './ids.js';

describe('ids', () => {
  it('have their shapes', () => {
    expect(newCommandId()).toMatch(/^c-[0-9a-f]{32}$/);
    expect(newInvokeId()).toMatch(/^t-[0-9a-f]{32}$/);
    expect(newRequestId()).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(newAccessKeySecret()).toMatch(/^[A-Za-z0-9]{30}$/);
    expect(newSessionToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('never repeat, across many refills of the pooled random bytes', () => {
    // 16 bytes an id, 4 KiB a refill: 50,000 ids span 195 refills.
    const ids = new Set(Array.from({ length: 50_000 }, newInvokeId));
    expect(ids.size).toBe(50_000);
    // Every hex digit turns up in every position: the bytes are not stuck at a fill value.
    for (let at = 2; at < 34; at++)
      expect(new Set([...ids].slice(0, 2_000).map((id) => id[at])).size).toBe(16);
  });
});
