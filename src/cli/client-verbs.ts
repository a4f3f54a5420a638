import type { Command } from 'commander';
import { registerCompletion } from './completion.js';
import { registerActivations } from './verbs/activations.js';
import { registerAudit } from './verbs/audit.js';
import { registerCall } from './verbs/call.js';
import { registerCommands } from './verbs/commands.js';
import { registerConfigure } from './verbs/configure.js';
import { registerInstances } from './verbs/instances.js';
import { registerKeys } from './verbs/keys.js';
import { registerPortForward } from './verbs/port-forward.js';
import { registerResourceGroups } from './verbs/resource-groups.js';
import { registerResults } from './verbs/results.js';
import { registerRun } from './verbs/run.js';
import { registerSchedule } from './verbs/schedule.js';
import { registerSendFile } from './verbs/send-file.js';
import { registerSession } from './verbs/session.js';
import { registerSettings } from './verbs/settings.js';
import { registerWatch } from './verbs/watch.js';
import { registerWebhooks } from './verbs/webhooks.js';

/** Every client verb: clients of the public API, signed with an access key. */
export function registerClientVerbs(program: Command): void {
  registerConfigure(program);
  registerCall(program);
  registerRun(program);
  registerSendFile(program);
  registerResults(program);
  registerInstances(program);
  registerSession(program);
  registerPortForward(program);
  registerCommands(program);
  registerActivations(program);
  registerKeys(program);
  registerSchedule(program);
  registerResourceGroups(program);
  registerSettings(program);
  registerWebhooks(program);
  registerAudit(program);
  registerWatch(program);
  registerCompletion(program);
}
