import { describe, expect, it } from 'vitest';
import { FakeNotifications, recordingLogger } from '../../test/helpers/hub-fakes.js';
import { NodeBus, type NodeMessage } from './node-bus.js';

async function listening() {
  const notifications = new FakeNotifications();
  const { logger, lines } = recordingLogger();
  const bus = new NodeBus(notifications, 'node-a', logger);
  const heard: NodeMessage[] = [];
  await bus.listen(
    (message) => heard.push(message),
    () => {},
  );
  return { bus, notifications, heard, lines };
}

describe('the node bus', () => {
  it('signs what it publishes with its node id', async () => {
    const { bus, notifications } = await listening();
    bus.publish({ kind: 'close', instanceId: 'mi-1' });
    expect(notifications.published.map((payload) => JSON.parse(payload))).toEqual([
      { kind: 'close', instanceId: 'mi-1', from: 'node-a' },
    ]);
  });

  it('hands on the other nodes’ messages and ignores its own', async () => {
    const { notifications, heard } = await listening();
    const wake = { kind: 'wake', from: 'node-b', instanceIds: ['mi-1', 'mi-2'] };
    notifications.deliver(JSON.stringify(wake));
    notifications.deliver(JSON.stringify({ ...wake, from: 'node-a' }));
    notifications.deliver(
      JSON.stringify({ kind: 'upgrade-config', from: 'node-b', regionId: 'cn-hangzhou' }),
    );
    expect(heard).toEqual([wake, { kind: 'upgrade-config', from: 'node-b', regionId: 'cn-hangzhou' }]);
  });

  it.each([
    ['text that is not JSON', '{"kind":'],
    ['JSON that is not an object', '42'],
    ['an unknown kind', JSON.stringify({ kind: 'reboot', from: 'node-b', instanceId: 'mi-1' })],
    ['a message without its sender', JSON.stringify({ kind: 'close', instanceId: 'mi-1' })],
    [
      'a wake whose ids are not a list',
      JSON.stringify({ kind: 'wake', from: 'node-b', instanceIds: 'mi-1' }),
    ],
    [
      'a wake with an id that is not text',
      JSON.stringify({ kind: 'wake', from: 'node-b', instanceIds: [1] }),
    ],
    [
      'a cancel with an unknown termination mode',
      JSON.stringify({
        kind: 'cancel',
        from: 'node-b',
        instanceId: 'mi-1',
        invokeId: 't-1',
        terminationMode: 'All',
      }),
    ],
  ])('logs and drops %s', async (_what, payload) => {
    const { notifications, heard, lines } = await listening();
    notifications.deliver(payload);
    expect(heard).toEqual([]);
    expect(lines.map((line) => line.msg)).toEqual(['malformed node message dropped']);
  });
});
