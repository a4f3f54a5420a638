import { ApiError } from './errors.js';

// Parameter Store rules (OOS CreateParameter/CreateSecretParameter references): names of letters,
// digits, `_`, `-` and `.` (the Cloud Assistant agent's reference pattern), at most 180 characters,
// no reserved prefix; values 1-4096 characters; descriptions up to 200.
export const parameterLimits = { nameLength: 180, valueLength: 4096, descriptionLength: 200 } as const;
const reservedPrefixes = /^(aliyun|acs|alibaba|alicloud|oos)/i;

export function validateParameterName(name: string): string {
  if (
    name.length > parameterLimits.nameLength ||
    !/^[A-Za-z0-9_.-]+$/.test(name) ||
    reservedPrefixes.test(name)
  ) {
    throw new ApiError(
      'InvalidParameter',
      'Name is 1-180 letters, digits, "_", "-" or ".", not starting with ALIYUN, ACS, ALIBABA, ALICLOUD or OOS.',
    );
  }
  return name;
}

export function validateParameterValue(value: string): string {
  if (value.length === 0 || value.length > parameterLimits.valueLength) {
    throw new ApiError('InvalidParameter', 'Value is 1-4096 characters.');
  }
  return value;
}

export function validateParameterDescription(description: string): string {
  if (description.length > parameterLimits.descriptionLength) {
    throw new ApiError('InvalidParameter', 'Description is at most 200 characters.');
  }
  return description;
}

/** `{{oos:NAME}}` or `{{oos-secret:NAME}}`, spaces allowed inside the braces, as the agent reads them. */
const reference = /\{\{\s*(oos-secret|oos)\s*:\s*([\w.-]+)\s*\}\}/g;

export interface ParameterReferences {
  readonly plain: string[];
  readonly secret: string[];
}

/** The Parameter Store names a text refers to, each once. */
export function parameterReferences(...texts: readonly string[]): ParameterReferences {
  const plain = new Set<string>();
  const secret = new Set<string>();
  for (const text of texts) {
    for (const match of text.matchAll(reference)) (match[1] === 'oos' ? plain : secret).add(match[2] ?? '');
  }
  return { plain: [...plain], secret: [...secret] };
}

/** Replaces every reference with its value; a name missing from `values` is left as written. */
export function fillParameterReferences(
  text: string,
  values: { readonly plain: ReadonlyMap<string, string>; readonly secret: ReadonlyMap<string, string> },
): string {
  return text.replace(
    reference,
    (whole, kind: string, name: string) => (kind === 'oos' ? values.plain : values.secret).get(name) ?? whole,
  );
}
