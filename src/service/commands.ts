import {
  type Command,
  type CommandPatch,
  type CreateCommandInput,
  isCommandType,
  newCommand,
  parameterNamesOf,
  validateContent,
  validateCreateCommand,
  validateDescription,
  validateLauncher,
  validateName,
  validateTimeout,
  validateWorkingDir,
} from '../domain/command.js';
import { ApiError } from '../domain/errors.js';
import type { Page, PageRequest } from '../domain/paging.js';
import { type RawTag, validateTagFilters } from '../domain/tags.js';
import { textPattern } from '../domain/text-pattern.js';
import type { Store } from '../store/store.js';
import { resourceGroupMustExist } from './resource-group-check.js';

export interface DescribeCommandsInput {
  commandId?: string | undefined;
  name?: string | undefined;
  description?: string | undefined;
  type?: string | undefined;
  provider?: string | undefined;
  resourceGroupId?: string | undefined;
  tags: readonly RawTag[];
}

export interface ModifyCommandInput {
  name?: string | undefined;
  description?: string | undefined;
  /** Base64, like CreateCommand's default encoding. */
  content?: string | undefined;
  workingDir?: string | undefined;
  timeoutSeconds?: number | undefined;
  launcher?: string | undefined;
}

/** Saved commands: CreateCommand, DescribeCommands, ModifyCommand, DeleteCommand. */
export class CommandService {
  constructor(
    private readonly store: Store,
    private readonly nowMs: () => number,
  ) {}

  async create(regionId: string, input: CreateCommandInput): Promise<Command> {
    const draft = validateCreateCommand(input);
    await resourceGroupMustExist(this.store, draft.resourceGroupId);
    return this.store.commands.insert(newCommand(draft, regionId, this.nowMs()));
  }

  async describe(regionId: string, input: DescribeCommandsInput, page: PageRequest): Promise<Page<Command>> {
    if (input.name !== undefined && input.name.length > 128)
      throw new ApiError('InvalidName.LengthLimitExceeded');
    if (input.description !== undefined && input.description.length > 512) {
      throw new ApiError('InvalidDescription.LengthLimitExceeded');
    }
    if (input.type !== undefined && !isCommandType(input.type)) {
      throw new ApiError('InvalidCommandType.NotFound', `Got "${input.type.slice(0, 40)}".`);
    }
    const tags = validateTagFilters(input.tags);
    // Public commands (a Provider such as AlibabaCloud) are not hosted here: none match.
    if (input.provider !== undefined) return { items: [], totalCount: 0, nextToken: undefined };
    return this.store.commands.list(
      {
        regionId,
        commandId: input.commandId,
        type: input.type,
        resourceGroupId: input.resourceGroupId,
        // `*` is a wildcard in both (Alibaba's fuzzy search); a description is prose, matched in any case.
        name: input.name === undefined ? undefined : textPattern(input.name, 'withWildcards'),
        description: input.description === undefined ? undefined : textPattern(input.description, 'always'),
        tags,
      },
      page,
    );
  }

  async get(regionId: string, commandId: string): Promise<Command> {
    const command = await this.store.commands.get(regionId, commandId);
    if (!command)
      throw new ApiError('InvalidCmdId.NotFound', `No command ${commandId.slice(0, 80)} in ${regionId}.`);
    return command;
  }

  async modify(regionId: string, commandId: string, input: ModifyCommandInput): Promise<void> {
    // Shapes and limits first, then existence (DESIGN §2.4).
    const patch: CommandPatch = {
      name: input.name ? validateName(input.name) : undefined,
      description: input.description === undefined ? undefined : validateDescription(input.description),
      workingDir: input.workingDir === undefined ? undefined : validateWorkingDir(input.workingDir),
      timeoutSeconds: input.timeoutSeconds === undefined ? undefined : validateTimeout(input.timeoutSeconds),
      launcher: input.launcher === undefined ? undefined : validateLauncher(input.launcher),
      contentBase64: input.content ? validateContent(input.content, 'Base64') : undefined,
    };
    const command = await this.get(regionId, commandId);
    if (patch.contentBase64 !== undefined) {
      patch.parameterNames = parameterNamesOf(patch.contentBase64, command.enableParameter);
    }
    if (!(await this.store.commands.update(regionId, commandId, patch))) {
      throw new ApiError('InvalidCmdId.NotFound', `No command ${commandId.slice(0, 80)} in ${regionId}.`);
    }
  }

  async delete(regionId: string, commandId: string): Promise<void> {
    if (!(await this.store.commands.delete(regionId, commandId))) {
      throw new ApiError('InvalidCmdId.NotFound', `No command ${commandId.slice(0, 80)} in ${regionId}.`);
    }
  }
}
