import { type Kysely, type Selectable, sql } from 'kysely';
import {
  type ClosedReason,
  closedReasons,
  endStatus,
  liveSessionStatuses,
  type SessionStatus,
  type TerminalSession,
} from '../../domain/terminal-session.js';
import type { Schema, TerminalSessionTable } from '../schema.js';
import type { Store, TerminalSessionRepo } from '../store.js';
import { oneOf } from './columns.js';
import { paginate } from './paging.js';

const statusOf = oneOf<SessionStatus>(
  ['Pending', 'Connecting', 'Connected', 'Closed', 'Failed'],
  'terminal_sessions.status',
);
const reasonOf = oneOf<ClosedReason | ''>(['', ...closedReasons], 'terminal_sessions.closed_reason');

function toSession(row: Selectable<TerminalSessionTable>): TerminalSession {
  return {
    id: row.id,
    regionId: row.region_id,
    instanceId: row.instance_id,
    username: row.username,
    commandLine: row.command_line,
    portNumber: row.port_number,
    targetServer: row.target_server,
    connectionType: row.connection_type,
    passwordName: row.password_name,
    encryptionOptions: row.encryption_options,
    accessKeyId: row.access_key_id,
    identityType: row.identity_type,
    recordInput: row.record_input === 1,
    status: statusOf(row.status),
    nodeId: row.node_id,
    clientIp: row.client_ip,
    createdAtMs: row.created_at,
    tokenExpiresAtMs: row.token_expires_at,
    startedAtMs: row.started_at,
    endedAtMs: row.ended_at,
    closedReason: reasonOf(row.closed_reason),
    failedDetail: row.failed_detail,
    exitCode: row.exit_code,
    recordedBytes: row.recorded_bytes,
    droppedBytes: row.dropped_bytes,
  };
}

// A failure's detail is the agent's message: bounded, whatever the agent sent.
const maxDetailChars = 1024;

export function terminalSessionRepo(db: Kysely<Schema>, dialect: Store['dialect']): TerminalSessionRepo {
  const live = [...liveSessionStatuses];
  const countLive = async (executor: Kysely<Schema>, instanceId?: string) => {
    let query = executor
      .selectFrom('terminal_sessions')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('status', 'in', live);
    if (instanceId !== undefined) query = query.where('instance_id', '=', instanceId);
    return Number((await query.executeTakeFirstOrThrow()).n);
  };

  return {
    async create(session, tokenHash, limits) {
      return db.transaction().execute(async (trx) => {
        // PostgreSQL: one lock serializes the creations, so racing ones cannot pass a limit
        // together (SQLite's transactions are serial already).
        if (dialect === 'postgres')
          await sql`SELECT pg_advisory_xact_lock(hashtext('terminal-sessions'))`.execute(trx);
        const counts = { instance: await countLive(trx, session.instanceId), total: await countLive(trx) };
        if (counts.instance >= limits.perInstance || counts.total >= limits.total) {
          return { created: false as const, live: counts };
        }
        await trx
          .insertInto('terminal_sessions')
          .values({
            id: session.id,
            region_id: session.regionId,
            instance_id: session.instanceId,
            username: session.username,
            command_line: session.commandLine,
            port_number: session.portNumber,
            target_server: session.targetServer,
            connection_type: session.connectionType,
            password_name: session.passwordName,
            encryption_options: session.encryptionOptions,
            access_key_id: session.accessKeyId,
            identity_type: session.identityType,
            record_input: session.recordInput ? 1 : 0,
            token_hash: tokenHash,
            token_expires_at: session.tokenExpiresAtMs,
            status: session.status,
            node_id: '',
            client_ip: '',
            created_at: session.createdAtMs,
            started_at: 0,
            ended_at: 0,
            closed_reason: '',
            failed_detail: '',
            exit_code: null,
            recorded_bytes: 0,
            dropped_bytes: 0,
          })
          .execute();
        return { created: true as const };
      });
    },

    async get(id) {
      const row = await db
        .selectFrom('terminal_sessions')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toSession(row);
    },

    async list(regionId, filter, page) {
      let query = db.selectFrom('terminal_sessions').selectAll().where('region_id', '=', regionId);
      if (filter.instanceId !== undefined) query = query.where('instance_id', '=', filter.instanceId);
      if (filter.sessionId !== undefined) query = query.where('id', '=', filter.sessionId);
      const result = await paginate(query, 'seq', page, (row) => row.seq);
      return { ...result, items: result.items.map(toSession) };
    },

    async claim(id, tokenHash, nodeId, clientIp, nowMs) {
      const claimed = await db
        .updateTable('terminal_sessions')
        .set({ status: 'Connecting', node_id: nodeId, client_ip: clientIp.slice(0, 64) })
        .where('id', '=', id)
        .where('token_hash', '=', tokenHash)
        .where('status', '=', 'Pending')
        .where('token_expires_at', '>', nowMs)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) return undefined;
      return this.get(id);
    },

    async connected(id, nowMs) {
      await db
        .updateTable('terminal_sessions')
        .set({ status: 'Connected', started_at: nowMs })
        .where('id', '=', id)
        .where('status', '=', 'Connecting')
        .execute();
    },

    async end(id, end, nowMs) {
      const ended = await db
        .updateTable('terminal_sessions')
        .set({
          status: endStatus(end.reason),
          ended_at: nowMs,
          closed_reason: end.reason,
          failed_detail: (end.detail ?? '').slice(0, maxDetailChars),
          exit_code: end.exitCode ?? null,
        })
        .where('id', '=', id)
        .where('status', 'in', live)
        .executeTakeFirst();
      return Number(ended.numUpdatedRows) > 0;
    },

    async expireTokens(nowMs) {
      const rows = await db
        .updateTable('terminal_sessions')
        .set({ status: endStatus('TokenExpired'), ended_at: nowMs, closed_reason: 'TokenExpired' })
        .where('status', '=', 'Pending')
        .where('token_expires_at', '<=', nowMs)
        .returning('id')
        .execute();
      return rows.map((row) => row.id);
    },

    async endOnNode(nodeId, end, nowMs) {
      const rows = await db
        .updateTable('terminal_sessions')
        .set({ status: endStatus(end.reason), ended_at: nowMs, closed_reason: end.reason })
        .where('node_id', '=', nodeId)
        .where('status', 'in', ['Connecting', 'Connected'])
        .returning('id')
        .execute();
      return rows.map((row) => row.id);
    },

    async record(id, direction, offset, data, dropped) {
      await db.transaction().execute(async (trx) => {
        if (data.length > 0) {
          await trx
            .insertInto('terminal_session_chunks')
            .values({ session_id: id, direction, byte_offset: offset, data })
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        await trx
          .updateTable('terminal_sessions')
          .set((eb) => ({
            recorded_bytes: eb('recorded_bytes', '+', data.length),
            dropped_bytes: eb('dropped_bytes', '+', dropped),
          }))
          .where('id', '=', id)
          .execute();
      });
      // A recording's pages would fill SQLite's page cache with bytes rarely read again.
      if (dialect === 'sqlite') await sql`PRAGMA shrink_memory`.execute(db);
    },

    async readRecording(id, direction, offset, maxBytes) {
      // The chunk holding `offset`, then the following ones until `maxBytes`.
      const first = await db
        .selectFrom('terminal_session_chunks')
        .select('byte_offset')
        .where('session_id', '=', id)
        .where('direction', '=', direction)
        .where('byte_offset', '<=', offset)
        .orderBy('byte_offset', 'desc')
        .limit(1)
        .executeTakeFirst();
      const rows = await db
        .selectFrom('terminal_session_chunks')
        .select(['byte_offset', 'data'])
        .where('session_id', '=', id)
        .where('direction', '=', direction)
        .where('byte_offset', '>=', first?.byte_offset ?? offset)
        .orderBy('byte_offset', 'asc')
        .limit(64)
        .execute();
      const parts: Buffer[] = [];
      let size = 0;
      for (const row of rows) {
        const part = row.data.subarray(Math.max(0, offset - row.byte_offset));
        if (size + part.length > maxBytes) {
          parts.push(part.subarray(0, maxBytes - size));
          break;
        }
        parts.push(part);
        size += part.length;
      }
      return Buffer.concat(parts);
    },

    async purge(beforeMs, limit) {
      const ids = (
        await db
          .selectFrom('terminal_sessions')
          .select('id')
          .where('status', 'not in', live)
          .where('ended_at', '<', beforeMs)
          .limit(limit)
          .execute()
      ).map((row) => row.id);
      if (ids.length === 0) return 0;
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('terminal_session_chunks').where('session_id', 'in', ids).execute();
        await trx.deleteFrom('terminal_sessions').where('id', 'in', ids).execute();
      });
      return ids.length;
    },
  };
}
