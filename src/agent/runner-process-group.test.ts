import { afterEach, describe, expect, it, vi } from 'vitest';
import { signal } from './runner-process-group.js';

describe('signal', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('never signals 0, 1 or -1: its own process group, init, every process there is', () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    for (const target of [0, -0, 1, -1]) signal(target, 'SIGKILL');
    expect(kill).not.toHaveBeenCalled();
    signal(-4242, 'SIGTERM');
    expect(kill).toHaveBeenCalledWith(-4242, 'SIGTERM');
  });
});
