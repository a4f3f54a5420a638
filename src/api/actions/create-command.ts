import { parseContentEncoding } from '../../domain/content.js';
import type { Action } from '../action.js';
import { readTags } from '../wire.js';

export const createCommand: Action = {
  name: 'CreateCommand',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const command = await services.commands.create(regionId, {
      name: params.string('Name'),
      description: params.string('Description'),
      type: params.string('Type'),
      content: params.string('CommandContent'),
      contentEncoding: parseContentEncoding(params.string('ContentEncoding'), 'Base64'),
      workingDir: params.string('WorkingDir'),
      timeoutSeconds: params.integer('Timeout', 'InvalidParameter.Timeout'),
      enableParameter: params.boolean('EnableParameter'),
      launcher: params.string('Launcher'),
      resourceGroupId: params.string('ResourceGroupId'),
      clientToken: params.string('ClientToken'),
      tags: readTags(params),
    });
    return { CommandId: command.id };
  },
};
