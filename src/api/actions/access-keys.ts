import { ApiError } from '../../domain/errors.js';
import { isOneOf } from '../../guards.js';
import type { AccessKey, AccessKeyStatus } from '../../store/store.js';
import type { Action } from '../action.js';
import { isoTime } from '../wire.js';

/** Access keys are RAM's, a separate product API routed here by its Version. */
const ramVersion = '2015-05-01';

// Policy and ResourceGroupId are OpenAssist's: RAM attaches policies to users, we attach them to keys.
const renderKey = (key: AccessKey) => ({
  AccessKeyId: key.id,
  Status: key.status,
  CreateDate: isoTime(key.createdAtMs),
  Policy: key.policy ?? '',
  ResourceGroupId: key.resourceGroupId ?? '',
});

const statuses: readonly AccessKeyStatus[] = ['Active', 'Inactive'];

export const createAccessKey: Action = {
  name: 'CreateAccessKey',
  version: ramVersion,
  regionRequired: false,
  async handle({ params, services, accessKey }) {
    const key = await services.accessKeys.create(accessKey, {
      policy: params.string('Policy'),
      resourceGroupId: params.string('ResourceGroupId'),
    });
    // The secret is shown once, here; no other answer carries it.
    return { AccessKey: { ...renderKey(key), AccessKeySecret: key.secret } };
  },
};

export const listAccessKeys: Action = {
  name: 'ListAccessKeys',
  version: ramVersion,
  regionRequired: false,
  async handle({ services, accessKey }) {
    const keys = await services.accessKeys.list(accessKey);
    return { AccessKeys: { AccessKey: keys.map(renderKey) } };
  },
};

export const updateAccessKey: Action = {
  name: 'UpdateAccessKey',
  version: ramVersion,
  regionRequired: false,
  async handle({ params, services, accessKey }) {
    const id = params.required('UserAccessKeyId');
    const status = params.required('Status');
    if (!isOneOf(statuses, status)) {
      throw new ApiError('InvalidParameter', 'Status must be Active or Inactive.');
    }
    await services.accessKeys.setStatus(accessKey, id, status);
    return {};
  },
};

export const deleteAccessKey: Action = {
  name: 'DeleteAccessKey',
  version: ramVersion,
  regionRequired: false,
  async handle({ params, services, accessKey }) {
    await services.accessKeys.delete(accessKey, params.required('UserAccessKeyId'));
    return {};
  },
};

export const accessKeyActions: readonly Action[] = [
  createAccessKey,
  listAccessKeys,
  updateAccessKey,
  deleteAccessKey,
];
