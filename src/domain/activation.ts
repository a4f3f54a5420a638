import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { ApiError } from './errors.js';
import type { Activation } from './fleet.js';
import { type RawTag, type Tag, validateTags } from './tags.js';

// Limits from the CreateActivation reference: 1-1000 instances (default 10), a 4-hour default
// lifetime (at most 876,576 hours, 100 years, as Alibaba's resource orchestration documents),
// description up to 100 characters, name prefix 2-50 characters.
export const activationLimits = {
  minInstances: 1,
  maxInstances: 1000,
  defaultInstances: 10,
  defaultTtlHours: 4,
  maxTtlHours: 876_576,
  descriptionLength: 100,
  prefixLength: { min: 2, max: 50 },
  instanceNameLength: { min: 2, max: 128 },
} as const;

const namePattern = /^[A-Za-z][A-Za-z0-9._:-]*$/;

export interface CreateActivationInput {
  instanceName?: string | undefined;
  instanceCount?: number | undefined;
  ttlHours?: number | undefined;
  ipAddressRange?: string | undefined;
  description?: string | undefined;
  resourceGroupId?: string | undefined;
  tags: readonly RawTag[];
}

export interface ActivationDraft {
  instanceName: string;
  instanceCount: number;
  ttlHours: number;
  ipAddressRange: string;
  description: string;
  resourceGroupId: string;
  tags: Tag[];
}

/** An instance name: 2-128 characters, a letter first, then letters, digits, `.`, `_`, `-`, `:`. */
export function validateInstanceName(name: string, length: { min: number; max: number }): string {
  if (name.length < length.min || name.length > length.max) {
    throw new ApiError('InstanceName.ExceedLimit', `It must be ${length.min}-${length.max} characters.`);
  }
  if (!namePattern.test(name)) throw new ApiError('InstanceName.InvalidPattern');
  return name;
}

/** Parses an IpAddressRange (address or CIDR, IPv4 or IPv6) into a matcher. */
export function parseAddressRange(range: string): BlockList {
  const [address = '', prefixText, ...rest] = range.trim().split('/');
  const family = isIP(address);
  const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
  const maxPrefix = family === 6 ? 128 : 32;
  if (family === 0 || rest.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix) {
    throw new ApiError('AddressRange.InvalidPattern', `Got "${range.slice(0, 60)}".`);
  }
  const list = new BlockList();
  list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  return list;
}

/** Whether a client address (as the server saw it, IPv4-mapped IPv6 included) is inside the range. */
export function addressAllowed(range: string, address: string): boolean {
  const list = parseAddressRange(range);
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
}

export function validateCreateActivation(input: CreateActivationInput): ActivationDraft {
  const instanceName = input.instanceName ?? '';
  if (instanceName !== '') validateInstanceName(instanceName, activationLimits.prefixLength);
  const instanceCount = input.instanceCount ?? activationLimits.defaultInstances;
  if (instanceCount < activationLimits.minInstances || instanceCount > activationLimits.maxInstances) {
    throw new ApiError('ActivationLimitation.Invalid', `InstanceCount is 1 to 1000, got ${instanceCount}.`);
  }
  const ttlHours = input.ttlHours ?? activationLimits.defaultTtlHours;
  if (ttlHours < 1 || ttlHours > activationLimits.maxTtlHours) {
    throw new ApiError('ActivationTTL.ExceedLimit', `TimeToLiveInHours is 1 to 876576, got ${ttlHours}.`);
  }
  const ipAddressRange = input.ipAddressRange || '0.0.0.0/0';
  parseAddressRange(ipAddressRange);
  const description = input.description ?? '';
  if (description.length > activationLimits.descriptionLength)
    throw new ApiError('ActivationDesc.ExceedLimit');
  return {
    instanceName,
    instanceCount,
    ttlHours,
    ipAddressRange,
    description,
    resourceGroupId: input.resourceGroupId ?? '',
    tags: validateTags(input.tags),
  };
}

/** The name a newly registered instance gets: `<prefix>-007` (as many digits as InstanceCount has), else its hostname. */
export function registeredInstanceName(activation: Activation, ordinal: number, hostname: string): string {
  if (activation.instanceName === '') return hostname.slice(0, 128) || 'instance';
  const digits = String(activation.instanceCount).length;
  return `${activation.instanceName}-${String(ordinal).padStart(digits, '0')}`;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Activation ids are upper-case UUIDs; codes are `a-` + 40 random characters, shown once. */
export const newActivationId = (): string => randomUUID().toUpperCase();
export const newActivationCode = (): string => `a-${randomBytes(30).toString('base64url')}`;
/** Managed instance ids: `mi-` + 32 hex characters; agent tokens: 43 random characters. */
export const newInstanceId = (): string => `mi-${randomBytes(16).toString('hex')}`;
export const newAgentToken = (): string => randomBytes(32).toString('base64url');
