import { randomBytes } from 'node:crypto';
import { ApiError, missingParameter } from '../domain/errors.js';
import type { Page, PageRequest } from '../domain/paging.js';
import {
  fillParameterReferences,
  parameterReferences,
  validateParameterDescription,
  validateParameterName,
  validateParameterValue,
} from '../domain/parameter-store.js';
import type { Store, StoredParameter } from '../store/store.js';
import type { SecretBox } from './secret-box.js';

export type ParameterKind = StoredParameter['kind'];

export interface CreateParameterInput {
  name?: string | undefined;
  type?: string | undefined;
  value?: string | undefined;
  description?: string | undefined;
}

/** A parameter as an action returns it: a secret's value only when decryption was asked for. */
export interface ParameterView extends Omit<StoredParameter, 'value'> {
  readonly value: string | undefined;
}

const newParameterId = (): string => `p-${randomBytes(16).toString('hex')}`;

/**
 * The OOS Parameter Store: plain parameters kept as they are, secret ones sealed with AES-256-GCM.
 * Secret values leave only through GetSecretParameter(s) with WithDecryption, and the agent channel.
 */
export class ParameterService {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly nowMs: () => number,
  ) {}

  async create(regionId: string, kind: ParameterKind, input: CreateParameterInput): Promise<ParameterView> {
    if (!input.name) throw missingParameter('Name');
    const name = validateParameterName(input.name);
    if (input.value === undefined) throw missingParameter('Value');
    const value = validateParameterValue(input.value);
    const type = input.type || (kind === 'secret' ? 'Secret' : '');
    const allowed = kind === 'secret' ? ['Secret'] : ['String', 'StringList'];
    if (!type) throw missingParameter('Type');
    if (!allowed.includes(type)) throw new ApiError('InvalidParameter', `Type is ${allowed.join(' or ')}.`);
    const now = this.nowMs();
    const created = await this.store.parameters.create({
      id: newParameterId(),
      regionId,
      kind,
      name,
      type,
      value: kind === 'secret' ? this.box.seal(value) : value,
      description: validateParameterDescription(input.description ?? ''),
      version: 1,
      createdAtMs: now,
      updatedAtMs: now,
    });
    if (!created) throw new ApiError('EntityAlreadyExists.Parameter', `${name} exists.`);
    return this.view(created, false);
  }

  async get(regionId: string, kind: ParameterKind, name: string, decrypt: boolean): Promise<ParameterView> {
    const parameter = await this.store.parameters.get(regionId, kind, name);
    if (!parameter) throw new ApiError('EntityNotExists.Parameter', `No parameter ${name.slice(0, 180)}.`);
    return this.view(parameter, decrypt);
  }

  async getMany(
    regionId: string,
    kind: ParameterKind,
    names: readonly string[],
    decrypt: boolean,
  ): Promise<{ found: ParameterView[]; missing: string[] }> {
    const found = await this.store.parameters.getMany(regionId, kind, names);
    return {
      found: found.map((parameter) => this.view(parameter, decrypt)),
      missing: names.filter((name) => !found.some((parameter) => parameter.name === name)),
    };
  }

  async update(
    regionId: string,
    kind: ParameterKind,
    name: string,
    value: string | undefined,
    description: string | undefined,
  ): Promise<ParameterView> {
    if (value === undefined) throw missingParameter('Value');
    const sealed =
      kind === 'secret' ? this.box.seal(validateParameterValue(value)) : validateParameterValue(value);
    const changed = await this.store.parameters.update(
      regionId,
      kind,
      name,
      {
        value: sealed,
        description: description === undefined ? undefined : validateParameterDescription(description),
      },
      this.nowMs(),
    );
    if (!changed) throw new ApiError('EntityNotExists.Parameter', `No parameter ${name.slice(0, 180)}.`);
    return this.get(regionId, kind, name, false);
  }

  async delete(regionId: string, kind: ParameterKind, name: string): Promise<void> {
    if (!(await this.store.parameters.delete(regionId, kind, name))) {
      throw new ApiError('EntityNotExists.Parameter', `No parameter ${name.slice(0, 180)}.`);
    }
  }

  async list(
    regionId: string,
    kind: ParameterKind,
    name: string | undefined,
    page: PageRequest,
  ): Promise<Page<ParameterView>> {
    const result = await this.store.parameters.list(regionId, kind, name, page);
    return { ...result, items: result.items.map((parameter) => this.view(parameter, false)) };
  }

  /** Every `{{oos:…}}` / `{{oos-secret:…}}` in these texts must name a parameter (checked at InvokeCommand). */
  async checkReferences(regionId: string, texts: readonly string[]): Promise<void> {
    const references = parameterReferences(...texts);
    for (const kind of ['plain', 'secret'] as const) {
      const { missing } = await this.getMany(regionId, kind, references[kind], false);
      if (missing.length > 0) {
        throw new ApiError(
          'ParameterStore.InvalidParameters',
          `Not in the Parameter Store: ${missing.join(', ')}.`,
        );
      }
    }
  }

  /** A secret parameter that must exist (WindowsPasswordName): `ParameterStore.InvalidParameters` otherwise. */
  async requireSecret(regionId: string, name: string): Promise<void> {
    if (!(await this.store.parameters.get(regionId, 'secret', name))) {
      throw new ApiError('ParameterStore.InvalidParameters', `No secret parameter ${name.slice(0, 180)}.`);
    }
  }

  /** A secret's decrypted value, for the agent channel only; undefined when it is gone. */
  async secretValue(regionId: string, name: string): Promise<string | undefined> {
    const parameter = await this.store.parameters.get(regionId, 'secret', name);
    return parameter ? this.box.open(parameter.value) : undefined;
  }

  /** Fills references with current values, secrets decrypted: only for the agent channel, never stored. */
  async fill(regionId: string, text: string): Promise<string> {
    const references = parameterReferences(text);
    if (references.plain.length === 0 && references.secret.length === 0) return text;
    const values = async (kind: ParameterKind) =>
      new Map(
        (await this.getMany(regionId, kind, references[kind], true)).found.map((parameter) => [
          parameter.name,
          parameter.value ?? '',
        ]),
      );
    return fillParameterReferences(text, { plain: await values('plain'), secret: await values('secret') });
  }

  private view(parameter: StoredParameter, decrypt: boolean): ParameterView {
    if (parameter.kind === 'plain') return parameter;
    return { ...parameter, value: decrypt ? this.box.open(parameter.value) : undefined };
  }
}
