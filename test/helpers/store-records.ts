import type { Activation, ManagedInstance } from '../../src/domain/fleet.js';
import type { Invocation } from '../../src/domain/invocation.js';
import type { AccessKey } from '../../src/store/store.js';

// Records the store suites create: every field a plain default, the test names what it cares about.

/** An active access key whose secret is its id and `-secret`. */
export function accessKeyRecord(id: string, fields: Partial<AccessKey> = {}): AccessKey {
  return { id, secret: `${id}-secret`, status: 'Active', description: '', createdAtMs: 0, ...fields };
}

/** An activation for `instanceCount` registrations, none used yet. */
export function activationRecord(id: string, instanceCount: number): Omit<Activation, 'seq'> {
  return {
    id,
    regionId: 'cn-hangzhou',
    codeHash: 'x',
    instanceName: '',
    instanceCount,
    registeredCount: 0,
    deregisteredCount: 0,
    ttlHours: 4,
    ipAddressRange: '0.0.0.0/0',
    description: '',
    disabled: false,
    resourceGroupId: '',
    createdAtMs: 1_000,
    tags: [],
  };
}

/** An instance registered against `activation`, connected never, with `overrides` on top. */
export function instanceRecord(
  id: string,
  activation: Activation,
  overrides: Partial<Omit<ManagedInstance, 'seq'>> = {},
): Omit<ManagedInstance, 'seq'> {
  return {
    id,
    regionId: activation.regionId,
    activationId: activation.id,
    name: id,
    hostname: 'h',
    osType: 'linux',
    osVersion: '',
    agentVersion: '',
    machineId: '',
    intranetIp: '127.0.0.1',
    tokenHash: 'x',
    status: 'Running',
    bootId: '',
    timeZone: '',
    shells: [],
    connected: false,
    lastHeartbeatAtMs: 0,
    lastInvokedAtMs: 0,
    invocationCount: 0,
    resourceGroupId: '',
    registeredAtMs: 1_000,
    tags: [],
    ...overrides,
  };
}

/** A pending RunShellScript invocation of `echo`, run once, with `overrides` on top. */
export function invocationRecord(
  overrides: Partial<Omit<Invocation, 'seq'>> & Pick<Invocation, 'id' | 'createdAtMs'>,
): Omit<Invocation, 'seq'> {
  return {
    regionId: 'cn-hangzhou',
    commandId: 'c-x',
    commandName: 'x',
    commandType: 'RunShellScript',
    commandDescription: '',
    contentBase64: 'ZWNobw==',
    parameters: {},
    repeatMode: 'Once',
    frequency: '',
    timeoutSeconds: 60,
    username: '',
    windowsPasswordName: '',
    workingDir: '',
    launcher: '',
    containerId: '',
    containerName: '',
    terminationMode: 'ProcessTree',
    resourceGroupId: '',
    clientToken: '',
    status: 'Pending',
    tags: [],
    ...overrides,
  };
}
