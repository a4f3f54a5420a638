import { isRecord } from '../guards.js';
import { ApiError } from './errors.js';

/**
 * The JSON object of one ModifyCloudAssistantSettings parameter (`AgentUpgradeConfig`,
 * `ResourceUsageConfig`, …): an object whose keys are all among `fields`, else `InvalidParameter`
 * naming the parameter.
 */
export function readSettingObject(
  parameter: string,
  text: string,
  fields: readonly string[],
): Record<string, unknown> {
  const invalid = (why: string) => new ApiError('InvalidParameter', `${parameter}: ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('it must be a JSON object.');
  }
  if (!isRecord(value)) throw invalid('it must be a JSON object.');
  const unknown = Object.keys(value).find((key) => !fields.includes(key));
  if (unknown !== undefined) {
    throw invalid(`unknown field ${unknown.slice(0, 40)}; the fields are ${fields.join(', ')}.`);
  }
  return value;
}
