import { describe, expect, it } from 'vitest';
import {
  type AgentMessage,
  isRegisterRequest,
  isRegisterResponse,
  maxFrameBytes,
  maxOutputChunkBytes,
  messageLimits,
  parseAgentMessage,
  parseRefusal,
  parseServerMessage,
} from './messages.js';
import { registerRequestProblem } from './registration-problem.js';

const hello = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'hello',
    protocolVersion: 1,
    agentVersion: '0.3.0',
    bootId: 'boot',
    hostname: 'web-1',
    osType: 'linux',
    osVersion: 'Linux',
    timeZone: 'UTC',
    shells: ['bash'],
    ...fields,
  });

const event = (fields: Record<string, unknown>, payload: Record<string, unknown>) =>
  JSON.stringify({ type: 'event', eventId: '1', invokeId: 't-1', ...fields, event: payload });

const finished = (fields: Record<string, unknown> = {}) => ({
  kind: 'finished',
  atMs: 1,
  status: 'Success',
  exitCode: 0,
  errorCode: '',
  errorInfo: '',
  droppedBytes: 0,
  ...fields,
});

const ids = (count: number) => Array.from({ length: count }, (_, i) => `t-${i}`);

describe('agent messages are bounded', () => {
  it('takes hello lists up to their limit and refuses longer ones', () => {
    const limit = messageLimits.heldEntries;
    const runs = ids(limit).map((invokeId, execution) => ({ invokeId, execution }));
    expect(parseAgentMessage(hello({ schedules: ids(limit), runs }))).toMatchObject({
      schedules: ids(limit),
      runs,
    } satisfies Partial<Extract<AgentMessage, { type: 'hello' }>>);
    expect(parseAgentMessage(hello({ schedules: ids(limit + 1) }))).toBeUndefined();
    expect(parseAgentMessage(hello({ runs: [...runs, { invokeId: 't-x', execution: 0 }] }))).toBeUndefined();
    expect(parseAgentMessage(hello({ shells: Array(messageLimits.shells + 1).fill('sh') }))).toBeUndefined();
    // 60,000 copies of one id fit in a frame: the count alone refuses them.
    expect(parseAgentMessage(hello({ schedules: Array(60_000).fill('x') }))).toBeUndefined();
  });

  it('lets the longest lists of real ids fit in one frame', () => {
    const realIds = Array.from({ length: messageLimits.heldEntries }, (_, i) =>
      `t-${'f'.repeat(28)}${i}`.slice(0, 34),
    );
    const runs = realIds.map((invokeId) => ({ invokeId, execution: 999_999 }));
    const text = hello({ schedules: realIds, runs, hostname: 'h'.repeat(messageLimits.textChars) });
    expect(Buffer.byteLength(text)).toBeLessThan(maxFrameBytes);
    expect(parseAgentMessage(text)).toBeDefined();
  });

  it('refuses malformed held runs and over-long ids and texts', () => {
    for (const run of [
      { invokeId: 't-1' },
      { invokeId: 't-1', execution: -1 },
      { invokeId: 1, execution: 0 },
    ])
      expect(parseAgentMessage(hello({ runs: [run] })), JSON.stringify(run)).toBeUndefined();
    const longId = 'x'.repeat(messageLimits.idChars + 1);
    expect(parseAgentMessage(hello({ schedules: [longId] }))).toBeUndefined();
    expect(parseAgentMessage(hello({ runs: [{ invokeId: longId, execution: 0 }] }))).toBeUndefined();
    expect(parseAgentMessage(hello({ hostname: 'h'.repeat(messageLimits.textChars + 1) }))).toBeUndefined();
    expect(parseAgentMessage(event({ eventId: longId }, { kind: 'accepted' }))).toBeUndefined();
    expect(parseAgentMessage(event({ invokeId: longId }, { kind: 'accepted' }))).toBeUndefined();
    expect(parseAgentMessage(event({}, { kind: 'accepted' }))).toBeDefined();
  });

  it('takes one output chunk of Base64 and an error text up to their limits, nothing longer', () => {
    const chunk = Buffer.alloc(maxOutputChunkBytes, 0xff).toString('base64');
    expect(chunk.length).toBe(messageLimits.outputDataChars);
    expect(parseAgentMessage(event({}, { kind: 'output', offset: 0, data: chunk }))).toBeDefined();
    expect(parseAgentMessage(event({}, { kind: 'output', offset: 0, data: `${chunk}AAAA` }))).toBeUndefined();
    const info = 'i'.repeat(messageLimits.errorInfoChars);
    expect(parseAgentMessage(event({}, finished({ errorInfo: info })))).toBeDefined();
    expect(parseAgentMessage(event({}, finished({ errorInfo: `${info}i` })))).toBeUndefined();
    expect(
      parseAgentMessage(event({}, finished({ errorCode: 'E'.repeat(messageLimits.textChars + 1) }))),
    ).toBeUndefined();
  });
});

describe('self-upgrade messages', () => {
  it('takes a hello with or without the agent architecture, a bounded one only', () => {
    expect(parseAgentMessage(hello({ arch: 'x64' }))).toMatchObject({ arch: 'x64' });
    expect(parseAgentMessage(hello())).toBeDefined();
    expect(parseAgentMessage(hello({ arch: 'x'.repeat(messageLimits.idChars + 1) }))).toBeUndefined();
    expect(parseAgentMessage(hello({ arch: 64 }))).toBeUndefined();
  });

  const offer = (fields: Record<string, unknown> = {}) =>
    JSON.stringify({
      type: 'upgrade',
      version: '0.3.0',
      path: '/agent/download/openassist-agent-linux-x64',
      sha256: 'ab'.repeat(32),
      sizeBytes: 1000,
      windows: ['02:00-03:00'],
      timeZone: 'UTC',
      ...fields,
    });

  it('reads an upgrade offer and refuses a malformed one', () => {
    expect(parseServerMessage(offer())).toMatchObject({ type: 'upgrade', version: '0.3.0' });
    expect(parseServerMessage(offer({ windows: [] }))).toBeDefined();
    expect(parseServerMessage(offer({ sha256: 'AB'.repeat(32) }))).toBeUndefined();
    expect(parseServerMessage(offer({ sha256: 'ab' }))).toBeUndefined();
    expect(parseServerMessage(offer({ path: 'http://elsewhere/file' }))).toBeUndefined();
    expect(parseServerMessage(offer({ path: '//elsewhere/file' }))).toBeUndefined();
    expect(parseServerMessage(offer({ sizeBytes: -1 }))).toBeUndefined();
    expect(parseServerMessage(offer({ windows: [1] }))).toBeUndefined();
    expect(parseServerMessage(offer({ version: undefined }))).toBeUndefined();
  });
});

/** A copy of `base` with the field at `path` set to `value` (`undefined`: left out). */
function withField(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head = '', ...rest] = path.split('.');
  const copy = { ...base };
  if (rest.length > 0) {
    const inner = copy[head];
    copy[head] = withField(
      typeof inner === 'object' && inner !== null ? { ...inner } : {},
      rest.join('.'),
      value,
    );
  } else if (value === undefined) delete copy[head];
  else copy[head] = value;
  return copy;
}

const validHello = JSON.parse(
  hello({ arch: 'x64', schedules: ['t-1'], runs: [{ invokeId: 't-1', execution: 2 }] }),
);
const validEvent = (payload: Record<string, unknown>) => ({
  type: 'event',
  eventId: '7',
  invokeId: 't-1',
  execution: 0,
  event: payload,
});
const validAgentMessages: Record<string, Record<string, unknown>> = {
  hello: validHello,
  'hello, lists left out': JSON.parse(hello()),
  heartbeat: { type: 'heartbeat', activeTasks: 3 },
  'heartbeat with health': {
    type: 'heartbeat',
    activeTasks: 0,
    health: { journalBytes: 4096, pendingEvents: 2 },
  },
  shutdown: { type: 'shutdown' },
  accepted: validEvent({ kind: 'accepted' }),
  'accepted, scheduled': validEvent({ kind: 'accepted', scheduledAtMs: 1_700_000_000_000 }),
  started: validEvent({ kind: 'started', atMs: 1 }),
  output: validEvent({ kind: 'output', offset: 65_536, data: 'aGk=' }),
  finished: validEvent(finished({ exitCode: -1, outputBytes: 10 })),
  'finished, no exit code': validEvent(finished({ exitCode: null, status: 'Timeout' })),
  'unknown fields (a newer agent)': { type: 'heartbeat', activeTasks: 0, load: { cpu: 1 } },
};

describe('every agent message type', () => {
  it.each(Object.entries(validAgentMessages))('takes a well-formed %s', (_, message) => {
    expect(parseAgentMessage(JSON.stringify(message))).toEqual(message);
  });

  const { hello: base } = validAgentMessages;
  const output = validAgentMessages.output ?? {};
  const done = validAgentMessages.finished ?? {};
  const malformed: [string, Record<string, unknown> | undefined, string, unknown][] = [
    // [what, message, field, value]
    ...[
      'protocolVersion',
      'agentVersion',
      'bootId',
      'hostname',
      'osType',
      'osVersion',
      'timeZone',
      'shells',
    ].map((field): [string, Record<string, unknown> | undefined, string, unknown] => [
      `hello without ${field}`,
      base,
      field,
      undefined,
    ]),
    ['hello osType unknown', base, 'osType', 'mac'],
    ['hello protocolVersion as text', base, 'protocolVersion', '1'],
    ['hello protocolVersion fractional', base, 'protocolVersion', 1.5],
    ['hello protocolVersion negative', base, 'protocolVersion', -1],
    ['hello protocolVersion past a safe integer', base, 'protocolVersion', 2 ** 53],
    ['hello hostname nested', base, 'hostname', { name: 'web-1' }],
    ['hello hostname null', base, 'hostname', null],
    ['hello shells not a list', base, 'shells', 'bash'],
    ['hello shells nested', base, 'shells', [['bash']]],
    ['hello schedules of numbers', base, 'schedules', [1]],
    ['hello schedules null', base, 'schedules', null],
    ['hello runs of ids', base, 'runs', ['t-1']],
    ['hello run without execution', base, 'runs', [{ invokeId: 't-1' }]],
    ['hello huge hostname', base, 'hostname', 'h'.repeat(1_000_000)],
    ['heartbeat without activeTasks', validAgentMessages.heartbeat, 'activeTasks', undefined],
    ['heartbeat activeTasks negative', validAgentMessages.heartbeat, 'activeTasks', -1],
    ['heartbeat health not an object', validAgentMessages.heartbeat, 'health', 'fine'],
    ['heartbeat health without journalBytes', validAgentMessages.heartbeat, 'health', { pendingEvents: 1 }],
    [
      'heartbeat health pendingEvents negative',
      validAgentMessages.heartbeat,
      'health',
      { journalBytes: 1, pendingEvents: -1 },
    ],
    [
      'heartbeat health journalBytes as text',
      validAgentMessages.heartbeat,
      'health',
      { journalBytes: '1', pendingEvents: 0 },
    ],
    ['event without eventId', output, 'eventId', undefined],
    ['event without invokeId', output, 'invokeId', undefined],
    ['event without event', output, 'event', undefined],
    ['event eventId a number', output, 'eventId', 7],
    ['event execution negative', output, 'execution', -1],
    ['event execution as text', output, 'execution', '0'],
    ['event as a list', output, 'event', [{ kind: 'started', atMs: 1 }]],
    ['event kind unknown', output, 'event.kind', 'paused'],
    ['event kind left out', output, 'event.kind', undefined],
    ['output without data', output, 'event.data', undefined],
    ['output without offset', output, 'event.offset', undefined],
    ['output data nested', output, 'event.data', ['aGk=']],
    ['output offset fractional', output, 'event.offset', 0.5],
    ['output huge data', output, 'event.data', 'A'.repeat(10_000_000)],
    ['started without atMs', validAgentMessages.started, 'event.atMs', undefined],
    ['accepted scheduledAtMs negative', validAgentMessages.accepted, 'event.scheduledAtMs', -5],
    ...['atMs', 'status', 'exitCode', 'errorCode', 'errorInfo', 'droppedBytes'].map(
      (field): [string, Record<string, unknown> | undefined, string, unknown] => [
        `finished without ${field}`,
        done,
        `event.${field}`,
        undefined,
      ],
    ),
    ['finished status unknown', done, 'event.status', 'Crashed'],
    ['finished exitCode as text', done, 'event.exitCode', '0'],
    ['finished exitCode fractional', done, 'event.exitCode', 1.5],
    ['finished exitCode past a safe integer', done, 'event.exitCode', -(2 ** 53)],
    ['finished errorInfo nested', done, 'event.errorInfo', { text: 'x' }],
    ['finished outputBytes negative', done, 'event.outputBytes', -1],
  ];
  it.each(malformed)('refuses %s', (_, message, field, value) => {
    expect(parseAgentMessage(JSON.stringify(withField(message ?? {}, field, value)))).toBeUndefined();
  });

  const limit = (chars: number) => 'x'.repeat(chars);
  const list = (entries: number, entry: unknown) => Array(entries).fill(entry);
  const bounds: [string, Record<string, unknown> | undefined, string, (size: number) => unknown, number][] = [
    // [what, message, field, value of a size, the bound]
    ...['agentVersion', 'bootId', 'hostname', 'osVersion', 'timeZone'].map(
      (field): [string, Record<string, unknown> | undefined, string, (size: number) => unknown, number] => [
        `hello ${field}`,
        base,
        field,
        limit,
        messageLimits.textChars,
      ],
    ),
    ['hello arch', base, 'arch', limit, messageLimits.idChars],
    ['hello shells', base, 'shells', (size) => list(size, 'sh'), messageLimits.shells],
    ['a hello shell', base, 'shells', (size) => [limit(size)], messageLimits.textChars],
    ['hello schedules', base, 'schedules', (size) => list(size, 't-1'), messageLimits.heldEntries],
    ['a hello schedule', base, 'schedules', (size) => [limit(size)], messageLimits.idChars],
    [
      'hello runs',
      base,
      'runs',
      (size) => list(size, { invokeId: 't', execution: 0 }),
      messageLimits.heldEntries,
    ],
    ['a hello run', base, 'runs', (size) => [{ invokeId: limit(size), execution: 0 }], messageLimits.idChars],
    ['event eventId', output, 'eventId', limit, messageLimits.idChars],
    ['event invokeId', output, 'invokeId', limit, messageLimits.idChars],
    ['output data', output, 'event.data', (size) => 'A'.repeat(size), messageLimits.outputDataChars],
    ['finished errorCode', done, 'event.errorCode', limit, messageLimits.textChars],
    ['finished errorInfo', done, 'event.errorInfo', limit, messageLimits.errorInfoChars],
  ];
  it.each(bounds)('takes %s at its bound and refuses one past it', (_, message, field, sized, bound) => {
    const at = (size: number) =>
      parseAgentMessage(JSON.stringify(withField(message ?? {}, field, sized(size))));
    expect(at(bound)).toBeDefined();
    expect(at(bound + 1)).toBeUndefined();
  });

  it.each([
    ['an unknown type', '{"type":"goodbye"}'],
    ['a server message', '{"type":"ack","eventIds":["1"]}'],
    ['a type of another case', JSON.stringify({ ...validHello, type: 'Hello' })],
    ['no type', JSON.stringify({ ...validHello, type: undefined })],
    ['a type that is not text', '{"type":["hello"]}'],
    ["an object's own property name as type", '{"type":"constructor"}'],
    ['a prototype key', '{"__proto__":{"type":"shutdown"}}'],
    ['a list', `[${JSON.stringify(validHello)}]`],
    ['null', 'null'],
    ['a number', '1'],
    ['a string', '"hello"'],
    ['text that is not JSON', 'hello'],
    ['an empty frame', ''],
    ['deep nesting', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    [
      'deep nesting in a field',
      `{"type":"heartbeat","activeTasks":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
    ],
  ])('refuses %s', (_, text) => {
    expect(parseAgentMessage(text)).toBeUndefined();
  });
});

const validTask = {
  invokeId: 't-1',
  commandType: 'RunShellScript',
  script: 'echo hi',
  username: 'root',
  workingDir: '/root',
  timeoutSeconds: 60,
  terminationMode: 'ProcessTree',
};
const validServerMessages: Record<string, Record<string, unknown>> = {
  welcome: { type: 'welcome', instanceId: 'mi-1', heartbeatSeconds: 30 },
  task: { type: 'task', task: validTask },
  'task with every option': {
    type: 'task',
    task: {
      ...validTask,
      terminationMode: 'Process',
      password: 'secret',
      execution: 2,
      schedule: { frequency: 'rate(5m)', startMs: 1_700_000_000_000 },
      container: { runtime: 'containerd', id: 'ab'.repeat(32), name: '' },
    },
  },
  'task placing a file': {
    type: 'task',
    task: {
      ...validTask,
      script: '',
      file: {
        name: 'app.conf',
        targetDir: '/etc/app',
        owner: 'root',
        group: 'root',
        mode: 0o644,
        overwrite: false,
        content: 'cG9ydD04MAo=',
      },
    },
  },
  'task placing a file from a source this side does not know (no content)': {
    type: 'task',
    task: {
      ...validTask,
      file: { name: 'a', targetDir: '/a', owner: 'root', group: 'root', mode: 0o7777, overwrite: true },
    },
  },
  'task in a container of any runtime': {
    type: 'task',
    task: { ...validTask, container: { id: '', name: 'web' } },
  },
  cancel: { type: 'cancel', invokeId: 't-1', terminationMode: 'Process' },
  ack: { type: 'ack', eventIds: ['1', '2'] },
  'ack of nothing': { type: 'ack', eventIds: [] },
  upgrade: {
    type: 'upgrade',
    version: '0.4.0',
    path: '/agent/download/openassist-agent-linux-x64',
    sha256: 'ab'.repeat(32),
    sizeBytes: 1,
    windows: [],
    timeZone: 'UTC',
  },
  'unknown fields (a newer server)': { type: 'welcome', instanceId: 'mi-1', heartbeatSeconds: 30, hint: [1] },
};

/** A well-formed file task's file, to spoil one field of. */
const validFile: Record<string, unknown> = {
  name: 'app.conf',
  targetDir: '/etc/app',
  owner: 'root',
  group: 'root',
  mode: 0o644,
  overwrite: false,
  content: '',
};

describe('every server message type', () => {
  it.each(Object.entries(validServerMessages))('takes a well-formed %s', (_, message) => {
    expect(parseServerMessage(JSON.stringify(message))).toEqual(message);
  });

  const { task, welcome, cancel, ack, upgrade } = validServerMessages;
  const malformed: [string, Record<string, unknown> | undefined, string, unknown][] = [
    ['welcome without instanceId', welcome, 'instanceId', undefined],
    ['welcome heartbeatSeconds as text', welcome, 'heartbeatSeconds', '30'],
    ...Object.keys(validTask).map((field): [string, Record<string, unknown> | undefined, string, unknown] => [
      `task without ${field}`,
      task,
      `task.${field}`,
      undefined,
    ]),
    ['task without a task', task, 'task', undefined],
    ['task commandType a number', task, 'task.commandType', 1],
    ['task terminationMode unknown', task, 'task.terminationMode', 'Kill'],
    ['task script nested', task, 'task.script', ['echo hi']],
    ['task timeoutSeconds negative', task, 'task.timeoutSeconds', -1],
    ['task password a number', task, 'task.password', 1234],
    ['task execution fractional', task, 'task.execution', 1.5],
    ['task schedule without startMs', task, 'task.schedule', { frequency: 'rate(5m)' }],
    ['task schedule frequency a number', task, 'task.schedule', { frequency: 5, startMs: 0 }],
    ['task container runtime a number', task, 'task.container', { runtime: 1, id: '', name: '' }],
    ['task container without id', task, 'task.container', { name: '' }],
    ['task container a string', task, 'task.container', 'web'],
    ['task file mode past 0o7777', task, 'task.file', { ...validFile, mode: 0o10000 }],
    ['task file mode as text', task, 'task.file', { ...validFile, mode: '0644' }],
    ['task file without targetDir', task, 'task.file', { ...validFile, targetDir: undefined }],
    ['task file overwrite as text', task, 'task.file', { ...validFile, overwrite: 'true' }],
    ['task file content a number', task, 'task.file', { ...validFile, content: 1 }],
    ['cancel without invokeId', cancel, 'invokeId', undefined],
    ['cancel without terminationMode', cancel, 'terminationMode', undefined],
    ['cancel terminationMode unknown', cancel, 'terminationMode', 'Kill'],
    ['ack of numbers', ack, 'eventIds', [1]],
    ['ack of one id, not a list', ack, 'eventIds', '1'],
    ['upgrade sha256 upper-case', upgrade, 'sha256', 'AB'.repeat(32)],
    ['upgrade sha256 too long', upgrade, 'sha256', 'ab'.repeat(33)],
    ['upgrade path relative', upgrade, 'path', 'agent/download/x'],
    ['upgrade path on another host', upgrade, 'path', '//elsewhere/x'],
    ['upgrade windows of numbers', upgrade, 'windows', [200]],
    ['upgrade sizeBytes fractional', upgrade, 'sizeBytes', 0.5],
  ];
  it.each(malformed)('refuses %s', (_, message, field, value) => {
    expect(parseServerMessage(JSON.stringify(withField(message ?? {}, field, value)))).toBeUndefined();
  });

  it.each([
    ['an unknown type', '{"type":"reboot"}'],
    ['an agent message', '{"type":"heartbeat","activeTasks":0}'],
    ['a list', `[${JSON.stringify(welcome)}]`],
    ['text that is not JSON', '{"type":"welcome"'],
  ])('refuses %s', (_, text) => {
    expect(parseServerMessage(text)).toBeUndefined();
  });
});

describe('registration bodies', () => {
  const request = {
    activationId: '4ECEEE12-0000-0000-0000-000000000000',
    activationCode: 'a-secret-code',
    hostname: 'web-1',
    osType: 'linux',
    osVersion: 'Debian GNU/Linux 12',
    agentVersion: '0.3.0',
    machineId: 'm-1',
  };

  it('takes a well-formed request and names the field of a malformed one, never its value', () => {
    expect(isRegisterRequest(request)).toBe(true);
    expect(isRegisterRequest({ ...request, osType: 'windows', extra: 1 })).toBe(true);
    for (const field of Object.keys(request)) {
      const without = withField(request, field, undefined);
      expect(isRegisterRequest(without), field).toBe(false);
      expect(registerRequestProblem(without)).toContain(`/${field}`);
    }
    const long = { ...request, activationCode: `${'s'.repeat(messageLimits.textChars)}!` };
    expect(isRegisterRequest(long)).toBe(false);
    expect(registerRequestProblem(long)).toContain('/activationCode');
    expect(registerRequestProblem(long)).not.toContain('sss');
    expect(registerRequestProblem([])).toMatch(/^\/: /);
  });

  it.each([
    ['activationId', ''],
    ['activationId', 'i'.repeat(messageLimits.idChars + 1)],
    ['activationCode', ''],
    ['osType', 'mac'],
    ['hostname', 'h'.repeat(messageLimits.textChars + 1)],
    ['hostname', { name: 'web-1' }],
    ['machineId', 1],
  ])('refuses %s = %j', (field, value) => {
    expect(isRegisterRequest(withField(request, field, value))).toBe(false);
  });

  it('reads an answer and a refusal', () => {
    expect(isRegisterResponse({ instanceId: 'mi-1', token: 't' })).toBe(true);
    expect(isRegisterResponse({ instanceId: 'mi-1', token: '' })).toBe(false);
    expect(isRegisterResponse({ instanceId: 'mi-1' })).toBe(false);
    expect(isRegisterResponse('mi-1')).toBe(false);
    expect(parseRefusal('{"Code":"Activation.Expired","Message":"It expired."}')).toEqual({
      Code: 'Activation.Expired',
      Message: 'It expired.',
    });
    expect(parseRefusal('{"Code":404}')).toEqual({});
    expect(parseRefusal('<html>')).toEqual({});
  });
});

describe('trace fields (docs/tracing.md)', () => {
  const agentSpan = (fields: Record<string, unknown> = {}) => ({
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    parentSpanId: '1111111111111111',
    name: 'agent.run',
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000300000000',
    attributes: [
      { key: 'openassist.run.status', value: 'Success' },
      { key: 'openassist.run.exit_code', value: 0 },
      { key: 'openassist.flag', value: true },
    ],
    ...fields,
  });
  const withSpans = (spans: unknown[]) => parseAgentMessage(event({}, finished({ spans })));

  it('takes a finished event with up to the bounded number of spans, and one without', () => {
    expect(withSpans([agentSpan()])).toBeDefined();
    expect(withSpans(Array.from({ length: messageLimits.spans }, () => agentSpan()))).toBeDefined();
    expect(withSpans(Array.from({ length: messageLimits.spans + 1 }, () => agentSpan()))).toBeUndefined();
    expect(parseAgentMessage(event({}, finished()))).toBeDefined();
  });

  it.each([
    ['an upper-case trace id', { traceId: '4BF92F3577B34DA6A3CE929D0E0E4736' }],
    ['a short span id', { spanId: '00f067aa0ba902b' }],
    ['no parent', { parentSpanId: undefined }],
    ['an empty name', { name: '' }],
    ['a long name', { name: 'n'.repeat(messageLimits.spanNameChars + 1) }],
    ['a time as a number', { startTimeUnixNano: 1700000000000000000 }],
    ['a negative time', { endTimeUnixNano: '-1' }],
    ['a time past 20 digits', { endTimeUnixNano: '1'.repeat(21) }],
    ['an attribute key with spaces', { attributes: [{ key: 'a b', value: 1 }] }],
    ['an attribute value that is an object', { attributes: [{ key: 'a', value: { b: 1 } }] }],
    [
      'a long attribute value',
      { attributes: [{ key: 'a', value: 'v'.repeat(messageLimits.spanAttributeChars + 1) }] },
    ],
    [
      'too many attributes',
      {
        attributes: Array.from({ length: messageLimits.spanAttributes + 1 }, (_, i) => ({
          key: `k${i}`,
          value: i,
        })),
      },
    ],
  ])('refuses a span with %s', (_, fields) => {
    expect(withSpans([agentSpan(fields)])).toBeUndefined();
  });

  it('takes a task with a traceparent, refuses one whose traceparent is not text', () => {
    const task = {
      type: 'task',
      task: {
        invokeId: 't-1',
        commandType: 'RunShellScript',
        script: 'echo',
        username: '',
        workingDir: '',
        timeoutSeconds: 60,
        terminationMode: 'ProcessTree',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      },
    };
    expect(parseServerMessage(JSON.stringify(task))).toEqual(task);
    expect(
      parseServerMessage(JSON.stringify({ ...task, task: { ...task.task, traceparent: 1 } })),
    ).toBeUndefined();
  });
});
