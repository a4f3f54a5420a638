import { type Kysely, type Selectable, sql } from 'kysely';
import { type Command, commandTypes } from '../../domain/command.js';
import type { Page } from '../../domain/paging.js';
import type { Tag } from '../../domain/tags.js';
import type { CommandTable, Schema } from '../schema.js';
import type { CommandRepo } from '../store.js';
import { oneOf, stringsOf } from './columns.js';
import { paginate, tagCondition, textCondition } from './paging.js';
import { prepared } from './prepared.js';
import { replaceTags, tagsOf } from './tags.js';

const commandType = oneOf(commandTypes, 'commands.type');
const parameterNames = stringsOf('commands.parameter_names');

const toCommand = (row: Selectable<CommandTable>, tags: Tag[]): Command => ({
  seq: Number(row.seq),
  id: row.id,
  regionId: row.region_id,
  name: row.name,
  description: row.description,
  type: commandType(row.type),
  contentBase64: row.content_base64,
  workingDir: row.working_dir,
  timeoutSeconds: row.timeout_seconds,
  enableParameter: row.enable_parameter === 1,
  parameterNames: parameterNames(row.parameter_names),
  launcher: row.launcher,
  resourceGroupId: row.resource_group_id,
  clientToken: row.client_token,
  version: row.version,
  invokeTimes: row.invoke_times,
  createdAtMs: Number(row.created_at),
  tags,
});

export function commandRepo(db: Kysely<Schema>, dialect: 'sqlite' | 'postgres'): CommandRepo {
  // Read by every InvokeCommand.
  const byId = prepared((db, regionId: string, id: string) =>
    db.selectFrom('commands').selectAll().where('region_id', '=', regionId).where('id', '=', id),
  );

  async function withTags(rows: Selectable<CommandTable>[]): Promise<Command[]> {
    const tags = await tagsOf(
      db,
      'command',
      rows.map((row) => row.id),
    );
    return rows.map((row) => toCommand(row, tags.get(row.id) ?? []));
  }

  return {
    async insert(command) {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('commands')
          .values({
            id: command.id,
            region_id: command.regionId,
            name: command.name,
            description: command.description,
            type: command.type,
            content_base64: command.contentBase64,
            working_dir: command.workingDir,
            timeout_seconds: command.timeoutSeconds,
            enable_parameter: command.enableParameter ? 1 : 0,
            parameter_names: JSON.stringify(command.parameterNames),
            launcher: command.launcher,
            resource_group_id: command.resourceGroupId,
            client_token: command.clientToken,
            version: command.version,
            invoke_times: command.invokeTimes,
            created_at: command.createdAtMs,
          })
          .returning('seq')
          .executeTakeFirstOrThrow();
        await replaceTags(trx, 'command', command.id, command.tags);
        return { ...command, seq: Number(row.seq) };
      });
    },

    async get(regionId, id, options = {}) {
      const [row] = (await byId(db, regionId, id)).rows;
      if (!row) return undefined;
      return options.tags === false ? toCommand(row, []) : (await withTags([row]))[0];
    },

    async list(filter, page): Promise<Page<Command>> {
      let query = db.selectFrom('commands').selectAll().where('region_id', '=', filter.regionId);
      if (filter.commandId !== undefined) query = query.where('id', '=', filter.commandId);
      if (filter.name !== undefined) query = query.where(textCondition('name', filter.name, dialect));
      if (filter.type !== undefined) query = query.where('type', '=', filter.type);
      if (filter.resourceGroupId !== undefined)
        query = query.where('resource_group_id', '=', filter.resourceGroupId);
      if (filter.description !== undefined)
        query = query.where(textCondition('description', filter.description, dialect));
      for (const tag of filter.tags) query = query.where(tagCondition('command', 'commands.id', tag));
      const result = await paginate(query, 'seq', page, (row: Selectable<CommandTable>) => Number(row.seq));
      return { ...result, items: await withTags(result.items) };
    },

    async update(regionId, id, patch) {
      const changes = {
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.contentBase64 !== undefined && { content_base64: patch.contentBase64 }),
        ...(patch.parameterNames !== undefined && { parameter_names: JSON.stringify(patch.parameterNames) }),
        ...(patch.workingDir !== undefined && { working_dir: patch.workingDir }),
        ...(patch.timeoutSeconds !== undefined && { timeout_seconds: patch.timeoutSeconds }),
        ...(patch.launcher !== undefined && { launcher: patch.launcher }),
      };
      const result = await db
        .updateTable('commands')
        .set((eb) => ({
          ...changes,
          // A new script is a new version; resending the same script is not.
          version:
            patch.contentBase64 === undefined
              ? eb.ref('version')
              : sql<number>`CASE WHEN content_base64 = ${patch.contentBase64} THEN version ELSE version + 1 END`,
        }))
        .where('region_id', '=', regionId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async delete(regionId, id) {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .deleteFrom('commands')
          .where('region_id', '=', regionId)
          .where('id', '=', id)
          .executeTakeFirst();
        await replaceTags(trx, 'command', id, []);
        return Number(result.numDeletedRows) > 0;
      });
    },
  };
}
