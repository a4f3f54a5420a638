import type { TaskSpec } from '../../src/protocol/messages.js';

/** A plain shell task as the server sends it, with `fields` laid over the defaults. */
export const taskSpec = (invokeId: string, fields: Partial<TaskSpec> = {}): TaskSpec => ({
  invokeId,
  commandType: 'RunShellScript',
  script: 'echo hi',
  username: '',
  workingDir: '',
  timeoutSeconds: 60,
  terminationMode: 'ProcessTree',
  ...fields,
});
