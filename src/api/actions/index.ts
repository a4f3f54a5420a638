import type { Action } from '../action.js';
import { createCommand } from './create-command.js';
import { deleteCommand } from './delete-command.js';
import { describeCommands } from './describe-commands.js';
import { describeRegions } from './describe-regions.js';
import { modifyCommand } from './modify-command.js';

/** Every operation the endpoint serves, by wire name (case-sensitive, as Alibaba's). */
export const actions: ReadonlyMap<string, Action> = new Map(
  [createCommand, describeCommands, modifyCommand, deleteCommand, describeRegions].map((action) => [
    action.name,
    action,
  ]),
);
