import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisterRequest } from '../protocol/messages.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { ActivationService } from './activations.js';
import { InstanceService } from './instances.js';

describe('registration against an activation, with a controlled clock', () => {
  let dir: string;
  let store: Store;
  let nowMs = Date.UTC(2026, 0, 1);
  const clock = () => nowMs;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-register-'));
    store = openSqliteStore(join(dir, 'db.sqlite'));
  });

  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const request = (activationId: string, activationCode: string): RegisterRequest => ({
    activationId,
    activationCode,
    hostname: 'host-1',
    osType: 'linux',
    osVersion: 'test',
    agentVersion: '0',
    machineId: 'm',
  });

  it('registers until the activation expires, then refuses with Activation.Expired', async () => {
    const activations = new ActivationService(store, clock);
    const instances = new InstanceService(store, { close: () => undefined }, clock, 20);
    const { activation, code } = await activations.create('cn-hangzhou', { ttlHours: 4, tags: [] });
    nowMs += 4 * 3_600_000 - 1;
    const first = await instances.register(request(activation.id, code), '127.0.0.1');
    expect(first.instanceId).toMatch(/^mi-/);
    expect(await instances.authenticateAgent(first.instanceId, first.token)).toMatchObject({
      name: 'host-1',
    });
    expect(await instances.authenticateAgent(first.instanceId, `${first.token}x`)).toBeUndefined();
    nowMs += 1;
    await expect(instances.register(request(activation.id, code), '127.0.0.1')).rejects.toMatchObject({
      code: 'Activation.Expired',
    });
  });

  it('never registers more instances than InstanceCount, even when agents race', async () => {
    const activations = new ActivationService(store, clock);
    const instances = new InstanceService(store, { close: () => undefined }, clock, 20);
    const { activation, code } = await activations.create('cn-hangzhou', { instanceCount: 3, tags: [] });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, () => instances.register(request(activation.id, code), '::ffff:127.0.0.1')),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    expect(
      outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.code),
    ).toEqual(Array(5).fill('Activation.CountExceeded'));
    expect((await store.activations.get('cn-hangzhou', activation.id))?.registeredCount).toBe(3);
  });
});
