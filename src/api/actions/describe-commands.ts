import type { Command } from '../../domain/command.js';
import { type ContentEncoding, fromBase64, parseContentEncoding } from '../../domain/content.js';
import type { Action } from '../action.js';
import { isoTime, readPaging, readTags, renderPage, renderTags } from '../wire.js';

export const renderCommand = (command: Command, encoding: ContentEncoding) => ({
  CommandId: command.id,
  Name: command.name,
  Description: command.description,
  Type: command.type,
  CommandContent: fromBase64(command.contentBase64, encoding),
  WorkingDir: command.workingDir,
  Timeout: command.timeoutSeconds,
  EnableParameter: command.enableParameter,
  ParameterNames: { ParameterName: command.parameterNames },
  Launcher: command.launcher,
  ResourceGroupId: command.resourceGroupId,
  Version: command.version,
  // Private commands have a single live version, which is therefore the latest.
  Latest: true,
  InvokeTimes: command.invokeTimes,
  CreationTime: isoTime(command.createdAtMs),
  Provider: '',
  Category: '',
  Tags: renderTags(command.tags),
});

export const describeCommands: Action = {
  name: 'DescribeCommands',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const encoding = parseContentEncoding(params.string('ContentEncoding'), 'Base64');
    const page = readPaging(params);
    params.boolean('Latest'); // validated; every private command is its own latest version
    const result = await services.commands.describe(
      regionId,
      {
        commandId: params.string('CommandId') || undefined,
        name: params.string('Name') || undefined,
        description: params.string('Description') || undefined,
        type: params.string('Type') || undefined,
        provider: params.string('Provider') || undefined,
        resourceGroupId: params.string('ResourceGroupId') || undefined,
        tags: readTags(params),
      },
      page,
    );
    return {
      ...renderPage(page, result),
      Commands: { Command: result.items.map((command) => renderCommand(command, encoding)) },
    };
  },
};
