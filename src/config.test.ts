import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type AgentFlags,
  ConfigError,
  loadAgentConfig,
  loadServerConfig,
  localAgentConfig,
  parseListen,
  readEnvironment,
  type ServerFlags,
} from './config.js';

type Env = Record<string, string>;
const serverConfig = (flags: ServerFlags, env: Env) => loadServerConfig(flags, readEnvironment(env).server);
const agentConfig = (flags: AgentFlags, env: Env) => loadAgentConfig(flags, readEnvironment(env).agent);

describe('server configuration (DESIGN §2.3: every flag has an environment twin; flags win)', () => {
  it('uses the documented defaults', () => {
    const config = serverConfig({}, {});
    expect(config).toMatchObject({
      listen: { host: '127.0.0.1', port: 8080 },
      dataDir: resolve('./data'),
      databaseUrl: `sqlite:${resolve('./data/openassist.db')}`,
      regions: ['cn-hangzhou'],
      rootAccessKey: undefined,
      deliveryTimeoutSeconds: 60,
      runGraceSeconds: 60,
      streamStallSeconds: 60,
      heartbeatSeconds: 20,
      dailyInvocationQuota: 100_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('starts no SQLite reader threads unless OPENASSIST_SQLITE_READERS asks for 1 to 8', () => {
    expect(serverConfig({}, {}).sqliteReaders).toBe(0);
    expect(serverConfig({}, { OPENASSIST_SQLITE_READERS: '1' }).sqliteReaders).toBe(1);
    expect(serverConfig({}, { OPENASSIST_SQLITE_READERS: '8' }).sqliteReaders).toBe(8);
    for (const bad of ['9', '-1', '1.5', 'two']) {
      expect(() => serverConfig({}, { OPENASSIST_SQLITE_READERS: bad })).toThrow(/OPENASSIST_SQLITE_READERS/);
    }
  });

  it("serves the agent executables of this package's build, or of OPENASSIST_AGENT_DIR", () => {
    // undefined: the server takes its own package's dist/agent (agent-download-routes.ts).
    expect(serverConfig({}, {}).agentDir).toBeUndefined();
    expect(serverConfig({}, { OPENASSIST_AGENT_DIR: 'builds/agent' }).agentDir).toBe(resolve('builds/agent'));
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
      OPENASSIST_RUN_GRACE_S: '7',
    };
    expect(serverConfig({}, env)).toMatchObject({
      listen: { host: '0.0.0.0', port: 9000 },
      dataDir: '/srv/oa',
      databaseUrl: 'postgres://db/oa',
      regions: ['cn-hangzhou', 'cn-beijing'],
      rootAccessKey: { id: 'LTAIroot', secret: 'secret-123' },
      deliveryTimeoutSeconds: 5,
      runGraceSeconds: 7,
    });
    expect(serverConfig({ listen: '127.0.0.1:1', data: '/d', database: 'sqlite:/x.db' }, env)).toMatchObject({
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
    expect(() => serverConfig({}, { OPENASSIST_ROOT_ACCESS_KEY_ID: 'LTAIx' })).toThrow(ConfigError);
    expect(() => serverConfig({}, { OPENASSIST_HEARTBEAT_S: '0' })).toThrow(ConfigError);
    expect(() => serverConfig({}, { OPENASSIST_REGIONS: ' , ' })).toThrow(ConfigError);
    expect(() => serverConfig({}, { OPENASSIST_REGIONS: 'Bad Region' })).toThrow(ConfigError);
    expect(() => serverConfig({}, { OPENASSIST_RESULT_RETENTION_DAYS: '-1' })).toThrow(ConfigError);
  });

  it('keeps ended results 30 days unless told otherwise (0: forever)', () => {
    expect(serverConfig({}, {}).resultRetentionDays).toBe(30);
    expect(serverConfig({}, { OPENASSIST_RESULT_RETENTION_DAYS: '0' }).resultRetentionDays).toBe(0);
    expect(serverConfig({}, { OPENASSIST_RESULT_RETENTION_DAYS: '7' }).resultRetentionDays).toBe(7);
    expect(serverConfig({}, { OPENASSIST_RESULT_RETENTION_DAYS: '0.5' }).resultRetentionDays).toBe(0.5);
    expect(() => serverConfig({}, { OPENASSIST_RESULT_RETENTION_DAYS: 'soon' })).toThrow(ConfigError);
  });

  it('reads the audit trail settings: on by default, 90 days, no export', () => {
    expect(serverConfig({}, {}).audit).toEqual({ enabled: true, retentionDays: 90, export: undefined });
    expect(serverConfig({}, { OPENASSIST_AUDIT: 'off' }).audit.enabled).toBe(false);
    expect(serverConfig({}, { OPENASSIST_AUDIT: '0' }).audit.enabled).toBe(false);
    expect(serverConfig({}, { OPENASSIST_AUDIT: 'on' }).audit.enabled).toBe(true);
    expect(() => serverConfig({}, { OPENASSIST_AUDIT: 'maybe' })).toThrow(/on or off/);
    expect(serverConfig({}, { OPENASSIST_AUDIT_RETENTION_DAYS: '0' }).audit.retentionDays).toBe(0);
    expect(() => serverConfig({}, { OPENASSIST_AUDIT_RETENTION_DAYS: '-1' })).toThrow(ConfigError);
    expect(serverConfig({}, { OPENASSIST_AUDIT_LOG: '-' }).audit.export).toEqual({ kind: 'stdout' });
    expect(
      serverConfig({}, { OPENASSIST_AUDIT_LOG: '/var/log/openassist/audit.jsonl' }).audit.export,
    ).toEqual({
      kind: 'file',
      path: '/var/log/openassist/audit.jsonl',
    });
  });

  it('throttles 30 failed authentications per address per minute unless told otherwise', () => {
    expect(serverConfig({}, {}).authFailuresPerMinute).toBe(30);
    expect(serverConfig({}, { OPENASSIST_AUTH_FAILURES_PER_MINUTE: '5' }).authFailuresPerMinute).toBe(5);
    expect(() => serverConfig({}, { OPENASSIST_AUTH_FAILURES_PER_MINUTE: '0' })).toThrow(ConfigError);
  });

  it('serves HTTPS with both --tls-cert and --tls-key (or their variables), never with one', () => {
    expect(serverConfig({}, {}).tls).toBeUndefined();
    const env = { OPENASSIST_TLS_CERT: '/etc/oa/cert.pem', OPENASSIST_TLS_KEY: '/etc/oa/key.pem' };
    expect(serverConfig({}, env).tls).toEqual({
      certFile: '/etc/oa/cert.pem',
      keyFile: '/etc/oa/key.pem',
    });
    expect(serverConfig({ tlsCert: '/c.pem', tlsKey: '/k.pem' }, env).tls).toEqual({
      certFile: '/c.pem',
      keyFile: '/k.pem',
    });
    expect(() => serverConfig({ tlsCert: '/c.pem' }, {})).toThrow(ConfigError);
    expect(() => serverConfig({}, { OPENASSIST_TLS_KEY: '/k.pem' })).toThrow(ConfigError);
  });
});

describe('object storage for output delivery', () => {
  const storage = {
    OPENASSIST_OSS_ENDPOINT: 'http://127.0.0.1:9000/',
    OPENASSIST_OSS_ACCESS_KEY_ID: 'id',
    OPENASSIST_OSS_ACCESS_KEY_SECRET: 'secret',
  };

  it('is none unless endpoint and key are set, then path style off and us-east-1 unless told', () => {
    expect(serverConfig({}, {}).objectStorage).toBeUndefined();
    expect(serverConfig({}, storage).objectStorage).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      accessKeyId: 'id',
      accessKeySecret: 'secret',
      forcePathStyle: false,
    });
    const told = {
      ...storage,
      OPENASSIST_OSS_REGION: 'oss-cn-hangzhou',
      OPENASSIST_OSS_FORCE_PATH_STYLE: '1',
    };
    expect(serverConfig({}, told).objectStorage).toMatchObject({
      region: 'oss-cn-hangzhou',
      forcePathStyle: true,
    });
  });

  it('refuses part of it or an endpoint that is not http(s)://HOST[:PORT], never showing the secret', () => {
    const { OPENASSIST_OSS_ACCESS_KEY_SECRET: _, ...half } = storage;
    expect(() => readEnvironment(half)).toThrow(/OPENASSIST_OSS_ENDPOINT, OPENASSIST_OSS_ACCESS_KEY_ID and/);
    expect(() => readEnvironment({ ...storage, OPENASSIST_OSS_ENDPOINT: 'minio:9000' })).toThrow(
      /OPENASSIST_OSS_ENDPOINT must be/,
    );
    try {
      readEnvironment({
        ...storage,
        OPENASSIST_OSS_ENDPOINT: 'ftp://x',
        OPENASSIST_OSS_ACCESS_KEY_SECRET: 'hush-hush',
      });
    } catch (error) {
      expect(String(error)).not.toContain('hush-hush');
    }
  });

  it('waits 5 s before the first retry unless the test knob says otherwise', () => {
    expect(serverConfig({}, {}).outputDeliveryRetryBaseMs).toBe(5_000);
    expect(serverConfig({}, { OPENASSIST_TEST_OSS_RETRY_BASE_MS: '200' }).outputDeliveryRetryBaseMs).toBe(
      200,
    );
  });
});

describe('agent configuration', () => {
  it('takes https:// servers and a CA file from --ca or OPENASSIST_AGENT_CA (the flag wins)', () => {
    const base = { server: 'https://oa.example:8443', stateDir: '/var/lib/oa' };
    expect(agentConfig(base, {}).caFile).toBeUndefined();
    expect(agentConfig(base, { OPENASSIST_AGENT_CA: '/etc/oa/ca.pem' }).caFile).toBe('/etc/oa/ca.pem');
    expect(agentConfig({ ...base, ca: '/ca.pem' }, { OPENASSIST_AGENT_CA: '/x.pem' }).caFile).toBe('/ca.pem');
  });

  it('takes the activation code from the environment or a file, not both', () => {
    const base = { server: 'http://oa.example:8080', stateDir: '/var/lib/oa' };
    expect(agentConfig(base, { OPENASSIST_ACTIVATION_CODE: 'a-1' }).activationCode).toBe('a-1');
    expect(agentConfig(base, { OPENASSIST_ACTIVATION_CODE: '' }).activationCode).toBeUndefined();
    expect(agentConfig(base, { OPENASSIST_ACTIVATION_CODE_FILE: '/etc/oa/code' }).activationCodeFile).toBe(
      '/etc/oa/code',
    );
    expect(() =>
      agentConfig({ ...base, activationCodeFile: '/etc/oa/code' }, { OPENASSIST_ACTIVATION_CODE: 'a-1' }),
    ).toThrow(/once/);
  });

  it('resets a damaged journal only when told to, by --reset-journal or OPENASSIST_AGENT_RESET_JOURNAL', () => {
    const base = { server: 'http://oa.example:8080', stateDir: '/var/lib/oa' };
    expect(agentConfig(base, {}).resetJournal).toBe(false);
    expect(agentConfig({ ...base, resetJournal: true }, {}).resetJournal).toBe(true);
    expect(agentConfig(base, { OPENASSIST_AGENT_RESET_JOURNAL: '1' }).resetJournal).toBe(true);
    expect(agentConfig(base, { OPENASSIST_AGENT_RESET_JOURNAL: 'false' }).resetJournal).toBe(false);
    expect(() => agentConfig(base, { OPENASSIST_AGENT_RESET_JOURNAL: 'maybe' })).toThrow(ConfigError);
  });

  it('waits a random jitter of up to 600 s before an upgrade unless told otherwise (0: none)', () => {
    const base = { server: 'http://oa.example:8080', stateDir: '/var/lib/oa' };
    expect(agentConfig(base, {}).upgradeJitterSeconds).toBe(600);
    expect(agentConfig(base, { OPENASSIST_AGENT_UPGRADE_JITTER_S: '0' }).upgradeJitterSeconds).toBe(0);
    expect(agentConfig(base, { OPENASSIST_AGENT_UPGRADE_JITTER_S: '30' }).upgradeJitterSeconds).toBe(30);
    expect(() => agentConfig(base, { OPENASSIST_AGENT_UPGRADE_JITTER_S: '-1' })).toThrow(ConfigError);
    expect(() => agentConfig(base, { OPENASSIST_AGENT_UPGRADE_JITTER_S: '1.5' })).toThrow(ConfigError);
  });

  it('caps the output the agent sends for one run: 16 MiB unless OPENASSIST_AGENT_OUTPUT_CAP_BYTES says otherwise', () => {
    const base = { server: 'http://oa.example:8080', stateDir: '/var/lib/oa' };
    expect(agentConfig(base, {}).outputCapBytes).toBe(16 * 1024 * 1024);
    expect(agentConfig(base, { OPENASSIST_AGENT_OUTPUT_CAP_BYTES: '1048576' }).outputCapBytes).toBe(
      1_048_576,
    );
    expect(() => agentConfig(base, { OPENASSIST_AGENT_OUTPUT_CAP_BYTES: '0' })).toThrow(ConfigError);
    expect(() => agentConfig(base, { OPENASSIST_AGENT_OUTPUT_CAP_BYTES: '16MiB' })).toThrow(
      /OPENASSIST_AGENT_OUTPUT_CAP_BYTES/,
    );
  });

  it('caps the output the journal keeps unacknowledged, per run and in all, at no less than one chunk', () => {
    const base = { server: 'http://oa.example:8080', stateDir: '/var/lib/oa' };
    expect(agentConfig(base, {})).toMatchObject({
      journalRunOutputMaxBytes: 4 * 1024 * 1024,
      journalOutputMaxBytes: 64 * 1024 * 1024,
    });
    expect(
      agentConfig(base, {
        OPENASSIST_AGENT_JOURNAL_RUN_OUTPUT_MAX: '262144',
        OPENASSIST_AGENT_JOURNAL_OUTPUT_MAX: '1048576',
      }),
    ).toMatchObject({ journalRunOutputMaxBytes: 262_144, journalOutputMaxBytes: 1_048_576 });
    expect(() => agentConfig(base, { OPENASSIST_AGENT_JOURNAL_RUN_OUTPUT_MAX: '1000' })).toThrow(
      /at least 65536/,
    );
    expect(() => agentConfig(base, { OPENASSIST_AGENT_JOURNAL_OUTPUT_MAX: '4MiB' })).toThrow(ConfigError);
  });
});

describe('the environment, read once', () => {
  it('refuses a bad value at once, naming the variable (or the flag) that holds it', () => {
    const bad: [Env, RegExp][] = [
      [{ OPENASSIST_LISTEN: '8080' }, /OPENASSIST_LISTEN must be HOST:PORT/],
      [{ OPENASSIST_LOG_LEVEL: 'verbose' }, /OPENASSIST_LOG_LEVEL must be one of/],
      [{ OPENASSIST_HEARTBEAT_S: 'often' }, /OPENASSIST_HEARTBEAT_S/],
      [{ OPENASSIST_SECRET_KEY: 'c2hvcnQ=' }, /OPENASSIST_SECRET_KEY must be the Base64 of 32 bytes/],
      [{ OPENASSIST_AGENT_SERVER: 'oa.example:8080' }, /OPENASSIST_AGENT_SERVER must be/],
      [{ OPENASSIST_ENDPOINT: 'oa.example' }, /OPENASSIST_ENDPOINT must be/],
      [{ OPENASSIST_LOAD_ACTIVATIONS: 'no-code' }, /OPENASSIST_LOAD_ACTIVATIONS takes ID:CODE/],
      [{ OPENASSIST_TEST_PROTOCOL_VERSION: 'two' }, /OPENASSIST_TEST_PROTOCOL_VERSION must be an integer/],
    ];
    for (const [env, message] of bad) expect(() => readEnvironment(env), message.source).toThrow(message);
    expect(() => serverConfig({ listen: 'nowhere' }, {})).toThrow(/--listen must be HOST:PORT/);
    expect(() => serverConfig({ logLevel: 'loud' }, {})).toThrow(/--log-level must be one of/);
    expect(() => agentConfig({ server: 'ftp://x', stateDir: '/s' }, {})).toThrow(/--server must be/);
  });

  it("leaves Docker's variables to the agent: only an agent refuses a DOCKER_HOST it cannot use", () => {
    const env = { DOCKER_HOST: 'tcp://docker:2375' };
    expect(() => readEnvironment(env)).not.toThrow();
    expect(() => agentConfig({ server: 'http://oa.example:8080', stateDir: '/s' }, env)).toThrow(
      /DOCKER_HOST must be unix:/,
    );
    expect(
      agentConfig(
        { server: 'http://oa.example:8080', stateDir: '/s' },
        { DOCKER_HOST: 'unix:///run/podman.sock', CONTAINER_RUNTIME_ENDPOINT: 'unix:///run/k3s.sock' },
      ).containerSockets,
    ).toEqual({ docker: '/run/podman.sock', containerd: '/run/k3s.sock', crio: '/run/k3s.sock' });
  });

  it('takes an empty variable for an unset one, and freezes what it read', () => {
    const environment = readEnvironment({ OPENASSIST_LISTEN: '', OPENASSIST_REGIONS: 'cn-hangzhou' });
    expect(environment.server.listen).toBeUndefined();
    expect(Object.isFrozen(environment.server.regions)).toBe(true);
    expect(Object.isFrozen(environment.agent.containerRuntimes)).toBe(true);
  });

  it('keeps the test-only knobs in their own section, unset in production', () => {
    const production = readEnvironment({});
    expect(production.testing).toEqual({
      agentVersion: undefined,
      protocolVersion: undefined,
      shutdownMarkerFile: undefined,
      fileWritePauseMarker: undefined,
    });
    expect(production.agent.shutdownMarkerFile).toBe('/run/nologin');
    const testing = readEnvironment({
      OPENASSIST_TEST_AGENT_VERSION: '0.1.0',
      OPENASSIST_TEST_PROTOCOL_VERSION: '0',
      OPENASSIST_TEST_SHUTDOWN_MARKER: '/var/run/oa-test-down',
      OPENASSIST_TEST_FILE_WRITE_PAUSE: '/var/run/oa-test-paused',
      OPENASSIST_TEST_RUN_GO_PAUSE: '/var/run/oa-test-held',
    });
    expect(
      loadAgentConfig({ server: 'http://oa.example:8080', stateDir: '/s' }, testing.agent),
    ).toMatchObject({
      testing: {
        agentVersion: '0.1.0',
        protocolVersion: 0,
        fileWritePauseMarker: '/var/run/oa-test-paused',
        runGoPauseMarker: '/var/run/oa-test-held',
      },
      shutdownMarkerFile: '/var/run/oa-test-down',
    });
  });

  it('reads the terminal and the tools apart from the programs', () => {
    const environment = readEnvironment({
      NO_COLOR: '1',
      TERM: 'dumb',
      OPENASSIST_LOAD_ACTIVATIONS: 'act-1:code-1, act-2:code:2',
      OPENASSIST_AGENT_BUILD_VERSION: '0.3.1',
    });
    expect(environment.terminal).toEqual({ noColor: true, dumb: true });
    expect(environment.tools).toEqual({
      loadActivations: [
        { id: 'act-1', code: 'code-1' },
        { id: 'act-2', code: 'code:2' },
      ],
      agentBuildVersion: '0.3.1',
    });
    expect(readEnvironment({ TERM: 'xterm' }).terminal).toEqual({ noColor: false, dumb: false });
  });
});

describe("up's local agent", () => {
  const local = {
    serverUrl: 'http://127.0.0.1:8080',
    stateDir: '/srv/oa/agent',
    activation: { activationId: 'act-1', activationCode: 'code-1' },
    serverCertFile: undefined,
  };

  it('is given its server, state dir and activation by up; an activation code in the environment is not its', () => {
    const environment = readEnvironment({
      OPENASSIST_AGENT_SERVER: 'http://elsewhere:8080',
      OPENASSIST_ACTIVATION_CODE: 'someone-elses',
      OPENASSIST_ACTIVATION_CODE_FILE: '/etc/oa/code',
      OPENASSIST_AGENT_OUTPUT_CAP_BYTES: '1048576',
    });
    expect(localAgentConfig(environment.agent, local)).toMatchObject({
      serverUrls: ['http://127.0.0.1:8080'],
      stateDir: '/srv/oa/agent',
      activationId: 'act-1',
      activationCode: 'code-1',
      activationCodeFile: undefined,
      outputCapBytes: 1_048_576,
      resetJournal: false,
    });
    expect(
      localAgentConfig(environment.agent, { ...local, activation: undefined }).activationCode,
    ).toBeUndefined();
  });

  it("trusts the server's own certificate over HTTPS unless OPENASSIST_AGENT_CA names a CA", () => {
    const withCert = { ...local, serverCertFile: '/srv/oa/cert.pem' };
    expect(localAgentConfig(readEnvironment({}).agent, withCert).caFile).toBe('/srv/oa/cert.pem');
    expect(
      localAgentConfig(readEnvironment({ OPENASSIST_AGENT_CA: '/etc/oa/ca.pem' }).agent, withCert).caFile,
    ).toBe('/etc/oa/ca.pem');
  });
});
