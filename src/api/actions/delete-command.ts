import type { Action } from '../action.js';

export const deleteCommand: Action = {
  name: 'DeleteCommand',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    await services.commands.delete(regionId, params.required('CommandId'));
    return {};
  },
};
