import { parseContentEncoding } from '../../domain/content.js';
import type { Action } from '../action.js';
import { readCommandInput, readTags } from '../wire.js';

export const createCommand: Action = {
  name: 'CreateCommand',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const encoding = parseContentEncoding(params.string('ContentEncoding'), 'Base64');
    const command = await services.commands.create(
      regionId,
      readCommandInput(params, encoding, readTags(params)),
    );
    return { CommandId: command.id };
  },
};
