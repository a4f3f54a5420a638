import { ApiError } from '../../domain/errors.js';
import type { Action } from '../action.js';
import { readInstanceIds } from '../wire.js';

/** Alibaba takes 1 to 50 ids (the SDK model's doc comment). */
const maxInstances = 50;

/**
 * InstallCloudAssistant. An instance exists here only once its agent has registered, so every
 * instance this call can name already has the agent: it checks the ids as Alibaba does and
 * answers success without doing anything, so scripts that "ensure the agent" before running
 * commands keep working. Machines without the agent get it from the install line
 * (`GET /agent/install.sh`), which no API call can run for them.
 */
export const installCloudAssistant: Action = {
  name: 'InstallCloudAssistant',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const instanceIds = readInstanceIds(params, maxInstances);
    if (instanceIds.length === 0) throw new ApiError('MissingParameter.InstanceIds');
    const unique = [...new Set(instanceIds)];
    const found = await services.instances.describe(
      regionId,
      { instanceIds: unique, tags: [] },
      { style: 'page', pageNumber: 1, pageSize: maxInstances },
    );
    const known = new Set(found.items.map((instance) => instance.id));
    const unknown = unique.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new ApiError(
        'InvalidInstance.NotFound',
        `Not found in ${regionId}: ${unknown
          .slice(0, 5)
          .map((id) => id.slice(0, 80))
          .join(', ')}.`,
      );
    }
    return {};
  },
};
