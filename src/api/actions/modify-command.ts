import type { Action } from '../action.js';

export const modifyCommand: Action = {
  name: 'ModifyCommand',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const commandId = params.required('CommandId');
    await services.commands.modify(regionId, commandId, {
      name: params.string('Name'),
      description: params.string('Description'),
      content: params.string('CommandContent'),
      workingDir: params.string('WorkingDir'),
      timeoutSeconds: params.integer('Timeout', 'InvalidParameter.Timeout'),
      launcher: params.string('Launcher'),
    });
    return {};
  },
};
