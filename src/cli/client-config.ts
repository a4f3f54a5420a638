import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Credentials } from '../client/sign.js';
import { type ClientEnvironment, ConfigError, checkEndpoint } from '../config.js';
import { rootKeyFileName } from '../data-files.js';
import { type Profile, type ProfileFile, readProfiles } from './profiles.js';

export interface ClientConfig extends Credentials {
  readonly region: string;
}

/** Flags every client verb takes. */
export interface ClientFlags {
  profile?: string | undefined;
  endpoint?: string | undefined;
  accessKeyId?: string | undefined;
  accessKeySecret?: string | undefined;
  region?: string | undefined;
  data?: string | undefined;
  /** Another product's API version on the same endpoint (ResourceManager 2020-03-31, RAM 2015-05-01). */
  apiVersion?: string | undefined;
}

const stringField = (value: unknown, name: string): string | undefined => {
  const field: unknown = typeof value === 'object' && value !== null ? Reflect.get(value, name) : undefined;
  return typeof field === 'string' ? field : undefined;
};

/** What `openassist up` left in its data dir: the endpoint it listens on and the generated root key. */
function readLocal(dataDir: string): Profile {
  const local: Profile = {};
  try {
    local.endpoint = readFileSync(join(dataDir, 'endpoint'), 'utf8').trim();
  } catch {
    // no local server
  }
  try {
    const key: unknown = JSON.parse(readFileSync(join(dataDir, rootKeyFileName), 'utf8'));
    local.accessKeyId = stringField(key, 'AccessKeyId');
    local.accessKeySecret = stringField(key, 'AccessKeySecret');
  } catch {
    // no generated key
  }
  return local;
}

/** The profile asked for (flag, then OPENASSIST_PROFILE), else the current one; asking for a missing one is an error. */
function chooseProfile(
  file: ProfileFile,
  flags: ClientFlags,
  environment: ClientEnvironment,
): Profile | undefined {
  const asked = flags.profile ?? environment.profile;
  if (asked) {
    const profile = file.profiles[asked];
    if (!profile)
      throw new ConfigError(
        `no profile "${asked}": create it with \`openassist configure --profile ${asked}\``,
      );
    return profile;
  }
  return file.profiles[file.current];
}

/**
 * Where each setting comes from, first found wins: flags, OPENASSIST_* variables, the chosen profile
 * of ~/.openassist/config.json, and, with nothing configured, the local `up` data dir.
 */
export async function loadClientConfig(
  flags: ClientFlags,
  environment: ClientEnvironment,
): Promise<ClientConfig> {
  const profile = chooseProfile(await readProfiles(), flags, environment) ?? {};
  // A configured profile replaces the local data dir, unless --data names one.
  const local: Profile =
    profile.endpoint && !flags.data ? {} : readLocal(resolve(flags.data ?? environment.dataDir ?? './data'));
  const endpoint = flags.endpoint ?? environment.endpoint ?? profile.endpoint ?? local.endpoint;
  const accessKeyId =
    flags.accessKeyId ?? environment.accessKeyId ?? profile.accessKeyId ?? local.accessKeyId;
  const accessKeySecret =
    flags.accessKeySecret ?? environment.accessKeySecret ?? profile.accessKeySecret ?? local.accessKeySecret;
  if (!endpoint) {
    throw new ConfigError(
      'no endpoint: run `openassist configure`, set OPENASSIST_ENDPOINT, or run `openassist up` here first',
    );
  }
  checkEndpoint(endpoint);
  if (!accessKeyId || !accessKeySecret) {
    throw new ConfigError(
      'no access key: run `openassist configure`, or set OPENASSIST_ACCESS_KEY_ID and OPENASSIST_ACCESS_KEY_SECRET',
    );
  }
  return {
    endpoint,
    accessKeyId,
    accessKeySecret,
    region: flags.region ?? environment.region ?? profile.region ?? 'cn-hangzhou',
  };
}
