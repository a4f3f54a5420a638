import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Credentials } from '../client/sign.js';
import { ConfigError } from '../config.js';
import { rootKeyFileName } from '../service/root-access-key.js';

export interface ClientConfig extends Credentials {
  readonly region: string;
}

export interface ClientFlags {
  endpoint?: string | undefined;
  accessKeyId?: string | undefined;
  accessKeySecret?: string | undefined;
  region?: string | undefined;
  data?: string | undefined;
  /** Another product's API version on the same endpoint (ResourceManager 2020-03-31, OOS 2019-06-01). */
  apiVersion?: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

function readLocal(dataDir: string): { endpoint?: string; id?: string; secret?: string } {
  const local: { endpoint?: string; id?: string; secret?: string } = {};
  try {
    local.endpoint = readFileSync(join(dataDir, 'endpoint'), 'utf8').trim();
  } catch {
    // no local server
  }
  try {
    const key = JSON.parse(readFileSync(join(dataDir, rootKeyFileName), 'utf8')) as Record<string, string>;
    local.id = key.AccessKeyId;
    local.secret = key.AccessKeySecret;
  } catch {
    // no generated key
  }
  return local;
}

/** Flags win over OPENASSIST_* variables, which win over the local `up` data dir. */
export function loadClientConfig(flags: ClientFlags, env: Env): ClientConfig {
  const local = readLocal(resolve(flags.data ?? env.OPENASSIST_DATA_DIR ?? './data'));
  const endpoint = flags.endpoint ?? env.OPENASSIST_ENDPOINT ?? local.endpoint;
  const accessKeyId = flags.accessKeyId ?? env.OPENASSIST_ACCESS_KEY_ID ?? local.id;
  const accessKeySecret = flags.accessKeySecret ?? env.OPENASSIST_ACCESS_KEY_SECRET ?? local.secret;
  if (!endpoint)
    throw new ConfigError('no endpoint: set OPENASSIST_ENDPOINT or run `openassist up` here first');
  if (!/^https?:\/\/[^/]+\/?$/.test(endpoint))
    throw new ConfigError(`endpoint must be http://HOST:PORT, got "${endpoint}"`);
  if (!accessKeyId || !accessKeySecret) {
    throw new ConfigError('no access key: set OPENASSIST_ACCESS_KEY_ID and OPENASSIST_ACCESS_KEY_SECRET');
  }
  return {
    endpoint,
    accessKeyId,
    accessKeySecret,
    region: flags.region ?? env.OPENASSIST_REGION ?? 'cn-hangzhou',
  };
}
