import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backendFactories } from '../helpers/backends.js';
import { serverKillScenario } from './server-kill-scenario.js';

// 500 runs (100 RunCommand calls of 5 instances) on 20 real agents, the server SIGKILLed once half
// of the calls have answered: about 15 s per backend on two cores, so the full size runs every time.
const size = { agents: 20, calls: 100, instancesPerCall: 5, concurrency: 8 };

for (const factory of backendFactories) {
  const available = await factory.available();
  describe.skipIf(!available)(`server SIGKILL under load on ${factory.name}`, () => {
    it(`loses and repeats nothing of ${size.calls * size.instancesPerCall} runs on ${size.agents} agents`, async () => {
      const backend = factory.make();
      const scratch = await mkdtemp(join(tmpdir(), 'openassist-server-kill-'));
      try {
        const figures = await serverKillScenario(backend, size, scratch);
        console.log(`server kill on ${factory.name}: ${JSON.stringify(figures)}`);
        expect(figures.recorded).toBeGreaterThanOrEqual(size.calls / 2);
      } finally {
        await backend.dispose();
        await rm(scratch, { recursive: true, force: true });
      }
    }, 240_000);
  });
}
