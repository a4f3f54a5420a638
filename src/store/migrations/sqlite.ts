import type { Migration } from './migration.js';

export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'access keys, nonces, commands, tags',
    sql: `
      CREATE TABLE access_keys (
        id TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        status TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL
      );
      CREATE TABLE nonces (
        access_key_id TEXT NOT NULL,
        nonce TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (access_key_id, nonce)
      ) WITHOUT ROWID;
      CREATE INDEX nonces_expiry ON nonces (expires_at);
      CREATE TABLE commands (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        region_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        type TEXT NOT NULL,
        content_base64 TEXT NOT NULL,
        working_dir TEXT NOT NULL,
        timeout_seconds INTEGER NOT NULL,
        enable_parameter INTEGER NOT NULL,
        parameter_names TEXT NOT NULL,
        launcher TEXT NOT NULL,
        resource_group_id TEXT NOT NULL,
        client_token TEXT NOT NULL,
        version INTEGER NOT NULL,
        invoke_times INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX commands_region ON commands (region_id, seq);
      CREATE INDEX commands_region_name ON commands (region_id, name);
      CREATE TABLE tags (
        resource_type TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (resource_type, resource_id, tag_key)
      ) WITHOUT ROWID;
      CREATE INDEX tags_lookup ON tags (resource_type, tag_key, tag_value);
    `,
  },
];
