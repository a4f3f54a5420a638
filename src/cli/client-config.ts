import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Credentials } from '../client/sign.js';
import { ConfigError } from '../config.js';
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

type Env = Readonly<Record<string, string | undefined>>;

/** What `openassist up` left in its data dir: the endpoint it listens on and the generated root key. */
function readLocal(dataDir: string): Profile {
  const local: Profile = {};
  try {
    local.endpoint = readFileSync(join(dataDir, 'endpoint'), 'utf8').trim();
  } catch {
    // no local server
  }
  try {
    const key = JSON.parse(readFileSync(join(dataDir, rootKeyFileName), 'utf8')) as Record<string, string>;
    local.accessKeyId = key.AccessKeyId;
    local.accessKeySecret = key.AccessKeySecret;
  } catch {
    // no generated key
  }
  return local;
}

/** The profile asked for (flag, then OPENASSIST_PROFILE), else the current one; asking for a missing one is an error. */
function chooseProfile(file: ProfileFile, flags: ClientFlags, env: Env): Profile | undefined {
  const asked = flags.profile ?? env.OPENASSIST_PROFILE;
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
export async function loadClientConfig(flags: ClientFlags, env: Env): Promise<ClientConfig> {
  const profile = chooseProfile(await readProfiles(), flags, env) ?? {};
  // A configured profile replaces the local data dir, unless --data names one.
  const local: Profile =
    profile.endpoint && !flags.data
      ? {}
      : readLocal(resolve(flags.data ?? env.OPENASSIST_DATA_DIR ?? './data'));
  const endpoint = flags.endpoint ?? env.OPENASSIST_ENDPOINT ?? profile.endpoint ?? local.endpoint;
  const accessKeyId =
    flags.accessKeyId ?? env.OPENASSIST_ACCESS_KEY_ID ?? profile.accessKeyId ?? local.accessKeyId;
  const accessKeySecret =
    flags.accessKeySecret ??
    env.OPENASSIST_ACCESS_KEY_SECRET ??
    profile.accessKeySecret ??
    local.accessKeySecret;
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
    region: flags.region ?? env.OPENASSIST_REGION ?? profile.region ?? 'cn-hangzhou',
  };
}

export function checkEndpoint(endpoint: string): void {
  // The shape, and that it parses at all (`http://[::1` has the shape but no closing bracket).
  if (!/^https?:\/\/[^/\s]+\/?$/.test(endpoint) || !URL.canParse(endpoint)) {
    throw new ConfigError(`endpoint must be http://HOST:PORT, got "${endpoint}"`);
  }
}
