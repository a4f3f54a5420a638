import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadServerConfig, parseListen } from './config.js';

describe('server configuration (DESIGN §2.3: every flag has an environment twin; flags win)', () => {
  it('uses the documented defaults', () => {
    const config = loadServerConfig({}, {});
    expect(config).toMatchObject({
      listen: { host: '127.0.0.1', port: 8080 },
      dataDir: resolve('./data'),
      databaseUrl: `sqlite:${resolve('./data/openassist.db')}`,
      regions: ['cn-hangzhou'],
      rootAccessKey: undefined,
      deliveryTimeoutSeconds: 60,
      heartbeatSeconds: 20,
      dailyInvocationQuota: 100_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the environment, and flags win over it', () => {
    const env = {
      OPENASSIST_LISTEN: '0.0.0.0:9000',
      OPENASSIST_DATA_DIR: '/srv/oa',
      OPENASSIST_DATABASE_URL: 'postgres://db/oa',
      OPENASSIST_REGIONS: 'cn-hangzhou, cn-beijing',
      OPENASSIST_ROOT_ACCESS_KEY_ID: 'LTAIroot',
      OPENASSIST_ROOT_ACCESS_KEY_SECRET: 'secret-123',
      OPENASSIST_DELIVERY_TIMEOUT_S: '5',
    };
    expect(loadServerConfig({}, env)).toMatchObject({
      listen: { host: '0.0.0.0', port: 9000 },
      dataDir: '/srv/oa',
      databaseUrl: 'postgres://db/oa',
      regions: ['cn-hangzhou', 'cn-beijing'],
      rootAccessKey: { id: 'LTAIroot', secret: 'secret-123' },
      deliveryTimeoutSeconds: 5,
    });
    expect(
      loadServerConfig({ listen: '127.0.0.1:1', data: '/d', database: 'sqlite:/x.db' }, env),
    ).toMatchObject({
      listen: { port: 1 },
      dataDir: '/d',
      databaseUrl: 'sqlite:/x.db',
    });
  });

  it('parses IPv4, names and bracketed IPv6 listen addresses', () => {
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    for (const bad of ['8080', 'host:', 'host:99999', ':80'])
      expect(() => parseListen(bad), bad).toThrow(ConfigError);
  });

  it('refuses half a root key, bad numbers and bad regions', () => {
    expect(() => loadServerConfig({}, { OPENASSIST_ROOT_ACCESS_KEY_ID: 'LTAIx' })).toThrow(ConfigError);
    expect(() => loadServerConfig({}, { OPENASSIST_HEARTBEAT_S: '0' })).toThrow(ConfigError);
    expect(() => loadServerConfig({}, { OPENASSIST_REGIONS: ' , ' })).toThrow(ConfigError);
    expect(() => loadServerConfig({}, { OPENASSIST_REGIONS: 'Bad Region' })).toThrow(ConfigError);
    expect(() => loadServerConfig({}, { OPENASSIST_RESULT_RETENTION_DAYS: '-1' })).toThrow(ConfigError);
  });

  it('keeps ended results 30 days unless told otherwise (0: forever)', () => {
    expect(loadServerConfig({}, {}).resultRetentionDays).toBe(30);
    expect(loadServerConfig({}, { OPENASSIST_RESULT_RETENTION_DAYS: '0' }).resultRetentionDays).toBe(0);
    expect(loadServerConfig({}, { OPENASSIST_RESULT_RETENTION_DAYS: '7' }).resultRetentionDays).toBe(7);
  });
});
