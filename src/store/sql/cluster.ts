import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { ClusterRepo } from '../store.js';

export function clusterRepo(db: Kysely<Schema>): ClusterRepo {
  return {
    async acquireLease(name, holder, nowMs, ttlMs) {
      const row = await db
        .insertInto('leases')
        .values({ name, holder, expires_at: nowMs + ttlMs })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ holder, expires_at: nowMs + ttlMs })
            .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<', nowMs)])),
        )
        .returning('holder')
        .executeTakeFirst();
      return row?.holder === holder;
    },

    async heartbeat(node) {
      await db
        .insertInto('server_nodes')
        .values({
          id: node.id,
          url: node.url,
          version: node.version,
          started_at: node.startedAtMs,
          heartbeat_at: node.heartbeatAtMs,
          agents: node.agents,
        })
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({ heartbeat_at: node.heartbeatAtMs, agents: node.agents, url: node.url }),
        )
        .execute();
    },

    async nodes() {
      const rows = await db
        .selectFrom('server_nodes')
        .selectAll()
        .orderBy('started_at')
        .orderBy('id')
        .execute();
      return rows.map((row) => ({
        id: row.id,
        url: row.url,
        version: row.version,
        startedAtMs: Number(row.started_at),
        heartbeatAtMs: Number(row.heartbeat_at),
        agents: Number(row.agents),
      }));
    },

    async forgetSilentNodes(beforeMs) {
      return db.transaction().execute(async (trx) => {
        const silent = await trx
          .deleteFrom('server_nodes')
          .where('heartbeat_at', '<', beforeMs)
          .returning('id')
          .execute();
        const ids = silent.map((row) => row.id);
        if (ids.length > 0) {
          await trx.updateTable('instances').set({ connected: 0 }).where('node_id', 'in', ids).execute();
        }
        return ids;
      });
    },
  };
}
