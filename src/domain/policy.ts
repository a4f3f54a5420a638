import { isRecord } from '../guards.js';
import { ApiError } from './errors.js';

/**
 * Access key policies, in RAM's document form:
 *   {"Version":"1","Statement":[{"Effect":"Allow","Action":["ecs:Describe*","ecs:InvokeCommand"]}]}
 * An action is named `product:Action`; `*` and `?` are wildcards; case does not matter (as in RAM).
 * A Deny that matches wins; otherwise an Allow must match. A key without a policy may call every
 * action its kind of key may (see access-keys service).
 */
export interface Policy {
  readonly statements: readonly Statement[];
}

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly RegExp[];
}

/** Products served on the endpoint, by API version, with RAM's product codes. */
export const productOfVersion: Readonly<Record<string, string>> = {
  '2014-05-26': 'ecs',
  '2015-05-01': 'ram',
  '2020-03-31': 'resourcemanager',
  '2019-06-01': 'oos',
  '2020-07-06': 'actiontrail',
};

export const policyLimits = { bytes: 2048, statements: 20, actionsPerStatement: 50 } as const;

const malformed = (why: string) => new ApiError('MalformedPolicyDocument', why);

function pattern(action: unknown): RegExp {
  if (typeof action !== 'string' || !/^(\*|[A-Za-z]+:[A-Za-z*?]+)$/.test(action)) {
    throw malformed(`Action "${String(action).slice(0, 60)}" is not product:Action (wildcards * and ?).`);
  }
  const body = action.replace(/[*?]/g, (wildcard) => (wildcard === '*' ? '.*' : '.'));
  return new RegExp(`^${body}$`, 'i');
}

/** Reads a policy document; anything else than the documented shape is MalformedPolicyDocument. */
export function parsePolicy(text: string): Policy {
  if (Buffer.byteLength(text) > policyLimits.bytes) {
    throw malformed(`The document is over ${policyLimits.bytes} bytes.`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw malformed('The document is not JSON.');
  }
  const statements = isRecord(document) ? document.Statement : undefined;
  if (!Array.isArray(statements) || statements.length === 0 || statements.length > policyLimits.statements) {
    throw malformed(`Statement must be a list of 1 to ${policyLimits.statements} statements.`);
  }
  return {
    statements: statements.map((statement: { Effect?: unknown; Action?: unknown; Resource?: unknown }) => {
      if (statement?.Effect !== 'Allow' && statement?.Effect !== 'Deny') {
        throw malformed('Effect must be Allow or Deny.');
      }
      if (statement.Resource !== undefined && statement.Resource !== '*') {
        throw malformed('Resource may only be "*": scope a key to a resource group instead.');
      }
      const actions = typeof statement.Action === 'string' ? [statement.Action] : statement.Action;
      if (
        !Array.isArray(actions) ||
        actions.length === 0 ||
        actions.length > policyLimits.actionsPerStatement
      ) {
        throw malformed(`Action must name 1 to ${policyLimits.actionsPerStatement} actions.`);
      }
      return { effect: statement.Effect, actions: actions.map(pattern) };
    }),
  };
}

/** Whether the policy lets a key call `product:action`. */
export function allows(policy: Policy, product: string, action: string): boolean {
  const name = `${product}:${action}`;
  const matching = policy.statements.filter((statement) => statement.actions.some((re) => re.test(name)));
  return matching.length > 0 && matching.every((statement) => statement.effect === 'Allow');
}
