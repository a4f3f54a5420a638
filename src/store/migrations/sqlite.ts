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
  {
    version: 2,
    name: 'activations, managed instances, invocations, output',
    sql: `
      CREATE TABLE activations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        region_id TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        instance_name TEXT NOT NULL,
        instance_count INTEGER NOT NULL,
        registered_count INTEGER NOT NULL DEFAULT 0,
        deregistered_count INTEGER NOT NULL DEFAULT 0,
        ttl_hours INTEGER NOT NULL,
        ip_address_range TEXT NOT NULL,
        description TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        resource_group_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX activations_region ON activations (region_id, seq);
      CREATE TABLE instances (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        region_id TEXT NOT NULL,
        activation_id TEXT NOT NULL,
        name TEXT NOT NULL,
        hostname TEXT NOT NULL,
        os_type TEXT NOT NULL,
        os_version TEXT NOT NULL,
        agent_version TEXT NOT NULL,
        machine_id TEXT NOT NULL,
        intranet_ip TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        status TEXT NOT NULL,
        boot_id TEXT NOT NULL DEFAULT '',
        time_zone TEXT NOT NULL DEFAULT '',
        shells TEXT NOT NULL DEFAULT '[]',
        connected INTEGER NOT NULL DEFAULT 0,
        last_heartbeat_at INTEGER NOT NULL DEFAULT 0,
        last_invoked_at INTEGER NOT NULL DEFAULT 0,
        invocation_count INTEGER NOT NULL DEFAULT 0,
        resource_group_id TEXT NOT NULL,
        registered_at INTEGER NOT NULL
      );
      CREATE INDEX instances_region ON instances (region_id, seq);
      CREATE INDEX instances_activation ON instances (activation_id);
      CREATE TABLE invocations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        region_id TEXT NOT NULL,
        command_id TEXT NOT NULL,
        command_name TEXT NOT NULL,
        command_type TEXT NOT NULL,
        command_description TEXT NOT NULL,
        content_base64 TEXT NOT NULL,
        parameters TEXT NOT NULL,
        repeat_mode TEXT NOT NULL,
        frequency TEXT NOT NULL,
        timeout_seconds INTEGER NOT NULL,
        username TEXT NOT NULL,
        working_dir TEXT NOT NULL,
        launcher TEXT NOT NULL,
        container_id TEXT NOT NULL,
        container_name TEXT NOT NULL,
        termination_mode TEXT NOT NULL,
        resource_group_id TEXT NOT NULL,
        client_token TEXT NOT NULL,
        invocation_status TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX invocations_region ON invocations (region_id, seq);
      CREATE INDEX invocations_command ON invocations (command_id);
      CREATE TABLE invocation_instances (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        invoke_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        status TEXT NOT NULL,
        error_code TEXT NOT NULL DEFAULT '',
        error_info TEXT NOT NULL DEFAULT '',
        exit_code INTEGER,
        output_bytes INTEGER NOT NULL DEFAULT 0,
        dropped_bytes INTEGER NOT NULL DEFAULT 0,
        delivered INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        start_time INTEGER NOT NULL DEFAULT 0,
        finish_time INTEGER NOT NULL DEFAULT 0,
        stop_time INTEGER NOT NULL DEFAULT 0,
        update_time INTEGER NOT NULL,
        UNIQUE (invoke_id, instance_id)
      );
      CREATE INDEX invocation_instances_instance ON invocation_instances (instance_id, status);
      CREATE INDEX invocation_instances_status ON invocation_instances (status, created_at);
      CREATE TABLE output_chunks (
        invoke_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        byte_offset INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (invoke_id, instance_id, byte_offset)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'client tokens for idempotent requests',
    sql: `
      CREATE TABLE client_tokens (
        owner TEXT NOT NULL,
        action TEXT NOT NULL,
        token TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        state TEXT NOT NULL,
        response TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        PRIMARY KEY (owner, action, token)
      ) WITHOUT ROWID;
      CREATE INDEX client_tokens_age ON client_tokens (created_at);
    `,
  },
  {
    version: 4,
    name: 'daily invocation quota',
    sql: `
      CREATE TABLE invocation_quota (
        region_id TEXT NOT NULL,
        utc_day TEXT NOT NULL,
        used INTEGER NOT NULL,
        PRIMARY KEY (region_id, utc_day)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    name: 'resource groups',
    sql: `
      CREATE TABLE resource_groups (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'parameter store',
    sql: `
      CREATE TABLE parameters (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        region_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        value TEXT NOT NULL,
        description TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (region_id, kind, name)
      );
    `,
  },
  {
    version: 7,
    name: 'invocations remember WindowsPasswordName',
    sql: `
      ALTER TABLE invocations ADD COLUMN windows_password_name TEXT NOT NULL DEFAULT '';
    `,
  },
  {
    version: 8,
    name: 'executions: each run of a schedule or reboot task is a row of its own',
    sql: `
      CREATE TABLE invocation_instances_v8 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        invoke_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        execution INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        error_code TEXT NOT NULL DEFAULT '',
        error_info TEXT NOT NULL DEFAULT '',
        exit_code INTEGER,
        output_bytes INTEGER NOT NULL DEFAULT 0,
        dropped_bytes INTEGER NOT NULL DEFAULT 0,
        delivered INTEGER NOT NULL DEFAULT 0,
        repeats INTEGER NOT NULL DEFAULT 0,
        scheduled_at INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        start_time INTEGER NOT NULL DEFAULT 0,
        finish_time INTEGER NOT NULL DEFAULT 0,
        stop_time INTEGER NOT NULL DEFAULT 0,
        update_time INTEGER NOT NULL,
        UNIQUE (invoke_id, instance_id, execution)
      );
      INSERT INTO invocation_instances_v8 (seq, invoke_id, instance_id, status, error_code, error_info,
        exit_code, output_bytes, dropped_bytes, delivered, created_at, start_time, finish_time, stop_time,
        update_time)
      SELECT seq, invoke_id, instance_id, status, error_code, error_info, exit_code, output_bytes,
        dropped_bytes, delivered, created_at, start_time, finish_time, stop_time, update_time
      FROM invocation_instances;
      DROP TABLE invocation_instances;
      ALTER TABLE invocation_instances_v8 RENAME TO invocation_instances;
      CREATE INDEX invocation_instances_instance ON invocation_instances (instance_id, status);
      CREATE INDEX invocation_instances_status ON invocation_instances (status, update_time);
      CREATE TABLE output_chunks_v8 (
        invoke_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        execution INTEGER NOT NULL DEFAULT 0,
        byte_offset INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (invoke_id, instance_id, execution, byte_offset)
      ) WITHOUT ROWID;
      INSERT INTO output_chunks_v8 (invoke_id, instance_id, byte_offset, data)
      SELECT invoke_id, instance_id, byte_offset, data FROM output_chunks;
      DROP TABLE output_chunks;
      ALTER TABLE output_chunks_v8 RENAME TO output_chunks;
    `,
  },
  {
    version: 9,
    name: 'cluster: leases, server nodes, which node holds an agent',
    sql: `
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE TABLE server_nodes (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        version TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        agents INTEGER NOT NULL
      );
      ALTER TABLE instances ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
    `,
  },
  {
    version: 10,
    name: 'access key policies and resource-group scope',
    sql: `
      ALTER TABLE access_keys ADD COLUMN policy TEXT NOT NULL DEFAULT '';
      ALTER TABLE access_keys ADD COLUMN resource_group_id TEXT NOT NULL DEFAULT '';
    `,
  },
  {
    version: 11,
    name: 'indexes for result pages by instance, newest first',
    // An instance's results newest first straight from the index, which also holds what the
    // filters and the join need (status, invocation), and invocations give their region from an
    // index: counting an instance's results, or finding its failed ones, reads no table row.
    sql: `
      CREATE INDEX invocation_instances_instance_newest
        ON invocation_instances (instance_id, execution, seq, invoke_id, status);
      CREATE INDEX invocations_id_region ON invocations (id, region_id);
    `,
  },
  {
    version: 12,
    name: 'cloud assistant settings per region (AgentUpgradeConfig)',
    // One row per region and setting type, its value JSON: settings are few, read whole, and their
    // shape follows the API's models (new setting types need no new table).
    sql: `
      CREATE TABLE cloud_assistant_settings (
        region_id TEXT NOT NULL,
        setting_type TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (region_id, setting_type)
      );
    `,
  },
  {
    version: 13,
    name: 'SendFile: invocations of kind file and their file attributes',
    // A sent file is an invocation like a command's (delivery, results, retention, tags, resource
    // group): its name, description, content and timeout sit in the command columns, and only
    // what a command lacks gets a column. Commands keep their defaults, so InvokeCommand writes
    // nothing more; the partial index serves DescribeSendFileResults without weighing on them.
    // Result pages now also filter by kind: migration 11's index gains it, so a page still reads
    // the invocation's region (and now kind) from the index alone.
    sql: `
      ALTER TABLE invocations ADD COLUMN kind TEXT NOT NULL DEFAULT 'command';
      ALTER TABLE invocations ADD COLUMN file_target_dir TEXT NOT NULL DEFAULT '';
      ALTER TABLE invocations ADD COLUMN file_owner TEXT NOT NULL DEFAULT '';
      ALTER TABLE invocations ADD COLUMN file_group TEXT NOT NULL DEFAULT '';
      ALTER TABLE invocations ADD COLUMN file_mode TEXT NOT NULL DEFAULT '';
      ALTER TABLE invocations ADD COLUMN file_overwrite INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE invocations ADD COLUMN file_content_type TEXT NOT NULL DEFAULT '';
      CREATE INDEX invocations_files ON invocations (region_id, seq) WHERE kind = 'file';
      DROP INDEX invocations_id_region;
      CREATE INDEX invocations_id_region_kind ON invocations (id, region_id, kind);
    `,
  },
  {
    version: 14,
    name: 'file uploads: SendFile beyond 32 KB',
    // An upload's bytes live in the database, in chunks of at most 1 MiB (one part each), so any
    // node of a cluster serves them to any agent.
    sql: `
      CREATE TABLE file_uploads (
        id TEXT PRIMARY KEY,
        region_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        received_bytes INTEGER NOT NULL,
        state TEXT NOT NULL,
        invoke_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX file_uploads_owner ON file_uploads (owner, invoke_id);
      CREATE INDEX file_uploads_invocation ON file_uploads (invoke_id);
      CREATE TABLE file_upload_chunks (
        upload_id TEXT NOT NULL,
        byte_offset INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (upload_id, byte_offset)
      );
    `,
  },
  {
    version: 15,
    name: 'what each agent applied of its resource caps (ResourceUsageConfig)',
    // One JSON report per instance, overwritten by each: read with the instance, never queried by field.
    sql: `
      ALTER TABLE instances ADD COLUMN resource_usage TEXT NOT NULL DEFAULT '';
    `,
  },
  {
    version: 16,
    name: 'index for invocations by region and repeat mode (DescribeInvocations Timed, RepeatMode)',
    // Timed=true asks for the few live schedules among every invocation of a region: without it
    // their count read each invocation (200 ms over 500,000 on SQLite), with it 2 ms.
    sql: `
      CREATE INDEX invocations_region_mode ON invocations (region_id, repeat_mode, seq);
    `,
  },
  {
    version: 17,
    name: 'terminal sessions and their recordings',
    // A session's SecurityToken is kept as its SHA-256 only; a recording is chunks of one direction
    // of the terminal (o: output, i: input), each at its byte offset in that direction.
    sql: `
      CREATE TABLE terminal_sessions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        region_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        username TEXT NOT NULL,
        command_line TEXT NOT NULL,
        port_number INTEGER NOT NULL,
        target_server TEXT NOT NULL,
        connection_type TEXT NOT NULL,
        password_name TEXT NOT NULL,
        encryption_options TEXT NOT NULL,
        access_key_id TEXT NOT NULL,
        identity_type TEXT NOT NULL,
        record_input INTEGER NOT NULL,
        token_hash TEXT NOT NULL,
        token_expires_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        node_id TEXT NOT NULL,
        client_ip TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER NOT NULL,
        closed_reason TEXT NOT NULL,
        failed_detail TEXT NOT NULL,
        exit_code INTEGER,
        recorded_bytes INTEGER NOT NULL,
        dropped_bytes INTEGER NOT NULL
      );
      CREATE INDEX terminal_sessions_region ON terminal_sessions (region_id, seq);
      CREATE INDEX terminal_sessions_instance ON terminal_sessions (instance_id, status);
      CREATE INDEX terminal_sessions_status ON terminal_sessions (status, token_expires_at);
      CREATE TABLE terminal_session_chunks (
        session_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        byte_offset INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (session_id, direction, byte_offset)
      );
    `,
  },
  {
    version: 18,
    name: 'webhooks and their outbox; runs by update time (the fleet event stream)',
    // The outbox gets one row per event and webhook, written in the transaction that changed the
    // run, so a killed server loses no event; a row leaves it once delivered or given up.
    sql: `
      CREATE TABLE webhooks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        secret_sealed TEXT NOT NULL,
        resource_group_id TEXT NOT NULL,
        tag_key TEXT NOT NULL DEFAULT '',
        tag_value TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        delivered_count INTEGER NOT NULL DEFAULT 0,
        failed_count INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        last_failed_at INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE webhook_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        claimed_until INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, seq);
      CREATE INDEX webhook_outbox_webhook ON webhook_outbox (webhook_id);
      CREATE INDEX invocation_instances_update ON invocation_instances (update_time, seq);
    `,
  },
  {
    version: 19,
    name: 'output delivery to object storage',
    // An invocation that delivers names its target and stays open until every ended run has a
    // delivery row; the rows are the uploads' durable state, found by status and next attempt.
    sql: `
      ALTER TABLE invocations ADD COLUMN oss_output_delivery TEXT NOT NULL DEFAULT '';
      ALTER TABLE invocations ADD COLUMN oss_open INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX invocations_oss_open ON invocations (oss_open);
      CREATE TABLE output_deliveries (
        invoke_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        execution INTEGER NOT NULL,
        bucket TEXT NOT NULL,
        object_key TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        error_code TEXT NOT NULL,
        error_info TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (invoke_id, instance_id, execution)
      );
      CREATE INDEX output_deliveries_due ON output_deliveries (status, next_attempt_at);
    `,
  },
  {
    version: 20,
    name: 'rolling runs: MaxConcurrency and MaxErrors, runs held back until released',
    // As given (a count or a percentage) and resolved against the targets (0: not a rolling run;
    // -1: no error limit). A held run is Pending but not deliverable until a run of its
    // invocation ends and releases it.
    sql: `
      ALTER TABLE invocations ADD COLUMN max_concurrency TEXT NOT NULL DEFAULT '';
      ALTER TABLE invocations ADD COLUMN max_errors TEXT NOT NULL DEFAULT '';
      ALTER TABLE invocations ADD COLUMN concurrency_limit INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE invocations ADD COLUMN error_limit INTEGER NOT NULL DEFAULT -1;
      ALTER TABLE invocation_instances ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 21,
    name: 'audit trail',
    // One row per audited call, its record as JSON, beside the columns LookupEvents filters on.
    // Lean on purpose: every call writes a row. A random-UUID index and a row per resource id
    // cost seven times the insert's CPU; resource ids are one text column (" id1 id2 ") read by
    // LIKE within the time range and indexed filters instead.
    sql: `
      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        event_time INTEGER NOT NULL,
        event_name TEXT NOT NULL,
        event_rw TEXT NOT NULL,
        access_key_id TEXT NOT NULL,
        resource_ids TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX audit_events_time ON audit_events (event_time);
      CREATE INDEX audit_events_name ON audit_events (event_name, seq);
      CREATE INDEX audit_events_key ON audit_events (access_key_id, seq);
    `,
  },
  {
    version: 22,
    name: "agents' health from their heartbeats; whether their resource caps are in force",
    // Written by the heartbeat's own UPDATE (no extra statement); health_at 0: never reported (an
    // older agent). resource_capped follows the agent's resource-usage report, for the fleet gauge.
    sql: `
      ALTER TABLE instances ADD COLUMN journal_bytes INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE instances ADD COLUMN pending_events INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE instances ADD COLUMN health_at INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE instances ADD COLUMN resource_capped INTEGER NOT NULL DEFAULT 0;
    `,
  },
];
