import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readEnvironment } from '../config.js';
import { loadClientConfig } from './client-config.js';
import { writeProfiles } from './profiles.js';

describe('client settings', () => {
  let home: string;
  const savedHome = process.env.HOME;

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'openassist-config-'));
    process.env.HOME = home;
  });
  afterEach(async () => {
    process.env.HOME = savedHome;
    await rm(home, { recursive: true, force: true });
  });

  const local = async () => {
    const data = join(home, 'data');
    await mkdir(data);
    await writeFile(join(data, 'endpoint'), 'http://127.0.0.1:1\n');
    await writeFile(
      join(data, 'root-access-key.json'),
      JSON.stringify({ AccessKeyId: 'LTAIlocal', AccessKeySecret: 'local-secret' }),
    );
    return data;
  };

  it('uses the local up data dir when nothing is configured', async () => {
    const data = await local();
    expect(await loadClientConfig({ data }, readEnvironment({}).client)).toEqual({
      endpoint: 'http://127.0.0.1:1',
      accessKeyId: 'LTAIlocal',
      accessKeySecret: 'local-secret',
      region: 'cn-hangzhou',
    });
  });

  it('prefers the current profile, then env variables over it, then flags over both', async () => {
    const data = await local();
    await writeProfiles({
      current: 'lab',
      profiles: {
        lab: {
          endpoint: 'http://lab:80',
          accessKeyId: 'LTAIlab',
          accessKeySecret: 's-lab',
          region: 'cn-beijing',
        },
        prod: { endpoint: 'http://prod:80', accessKeyId: 'LTAIprod', accessKeySecret: 's-prod' },
      },
    });
    const env = { OPENASSIST_DATA_DIR: data };
    expect(await loadClientConfig({}, readEnvironment(env).client)).toMatchObject({
      endpoint: 'http://lab:80',
      region: 'cn-beijing',
    });
    expect(await loadClientConfig({ profile: 'prod' }, readEnvironment(env).client)).toMatchObject({
      endpoint: 'http://prod:80',
      accessKeyId: 'LTAIprod',
      region: 'cn-hangzhou',
    });
    expect(
      await loadClientConfig(
        {},
        readEnvironment({ ...env, OPENASSIST_PROFILE: 'prod', OPENASSIST_REGION: 'x' }).client,
      ),
    ).toMatchObject({ endpoint: 'http://prod:80', region: 'x' });
    expect(
      await loadClientConfig({ region: 'flag' }, readEnvironment({ OPENASSIST_REGION: 'x' }).client),
    ).toMatchObject({
      region: 'flag',
    });
    await expect(loadClientConfig({ profile: 'none' }, readEnvironment(env).client)).rejects.toThrow(
      'no profile "none"',
    );
  });

  it('refuses a damaged profile file and a malformed endpoint', async () => {
    await mkdir(join(home, '.openassist'));
    await writeFile(join(home, '.openassist', 'config.json'), '{not json');
    await expect(loadClientConfig({}, readEnvironment({}).client)).rejects.toThrow('is not a profile file');
    await rm(join(home, '.openassist', 'config.json'));
    await expect(
      loadClientConfig(
        { endpoint: 'ftp://x', accessKeyId: 'a', accessKeySecret: 'b' },
        readEnvironment({}).client,
      ),
    ).rejects.toThrow('endpoint must be http://HOST:PORT');
    await expect(
      loadClientConfig(
        { endpoint: 'http://[::1', accessKeyId: 'a', accessKeySecret: 'b' },
        readEnvironment({}).client,
      ),
    ).rejects.toThrow('endpoint must be http://HOST:PORT');
  });
});
