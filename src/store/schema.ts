import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them. Times are epoch milliseconds, booleans 0/1, lists JSON text. */
export interface AccessKeyTable {
  id: string;
  secret: string;
  status: string;
  description: string;
  created_at: number;
  policy: string;
  resource_group_id: string;
}

export interface NonceTable {
  access_key_id: string;
  nonce: string;
  expires_at: number;
}

export interface CommandTable {
  seq: Generated<number>;
  id: string;
  region_id: string;
  name: string;
  description: string;
  type: string;
  content_base64: string;
  working_dir: string;
  timeout_seconds: number;
  enable_parameter: number;
  parameter_names: string;
  launcher: string;
  resource_group_id: string;
  client_token: string;
  version: number;
  invoke_times: number;
  created_at: number;
}

export interface TagTable {
  resource_type: string;
  resource_id: string;
  tag_key: string;
  tag_value: string;
}

export interface ActivationTable {
  seq: Generated<number>;
  id: string;
  region_id: string;
  code_hash: string;
  instance_name: string;
  instance_count: number;
  registered_count: number;
  deregistered_count: number;
  ttl_hours: number;
  ip_address_range: string;
  description: string;
  disabled: number;
  resource_group_id: string;
  created_at: number;
}

export interface InstanceTable {
  seq: Generated<number>;
  id: string;
  region_id: string;
  activation_id: string;
  name: string;
  hostname: string;
  os_type: string;
  os_version: string;
  agent_version: string;
  machine_id: string;
  intranet_ip: string;
  token_hash: string;
  status: string;
  boot_id: string;
  time_zone: string;
  shells: string;
  connected: number;
  /** The server node whose channel the agent is on (cluster); '' before the first hello. */
  node_id: Generated<string>;
  /** The agent's last report of its resource caps (JSON, as the service wrote it); '' before one. */
  resource_usage: Generated<string>;
  /** The agent's last health report (migration 22): journal file bytes, unacknowledged events, when (0: none). */
  journal_bytes: Generated<number>;
  pending_events: Generated<number>;
  health_at: Generated<number>;
  /** 1 while the agent reports its resource caps applied. */
  resource_capped: Generated<number>;
  last_heartbeat_at: number;
  last_invoked_at: number;
  invocation_count: number;
  resource_group_id: string;
  registered_at: number;
}

export interface InvocationTable {
  seq: Generated<number>;
  id: string;
  region_id: string;
  command_id: string;
  command_name: string;
  command_type: string;
  command_description: string;
  content_base64: string;
  parameters: string;
  repeat_mode: string;
  frequency: string;
  timeout_seconds: number;
  username: string;
  windows_password_name: string;
  working_dir: string;
  launcher: string;
  container_id: string;
  container_name: string;
  termination_mode: string;
  resource_group_id: string;
  client_token: string;
  invocation_status: string;
  created_at: number;
  /** 'command' or 'file' (SendFile); the file_* columns are empty for a command. */
  kind: Generated<string>;
  file_target_dir: Generated<string>;
  file_owner: Generated<string>;
  file_group: Generated<string>;
  file_mode: Generated<string>;
  file_overwrite: Generated<number>;
  file_content_type: Generated<string>;
  /** Rolling runs (docs/rolling-runs.md): as given, and resolved (0: not rolling; -1: no error limit). */
  max_concurrency: Generated<string>;
  max_errors: Generated<string>;
  concurrency_limit: Generated<number>;
  error_limit: Generated<number>;
  /** `oss://bucket/prefix` the runs' output is delivered to; empty: none. */
  oss_output_delivery: Generated<string>;
  /** 1 while ended runs may still lack a delivery row. */
  oss_open: Generated<number>;
}

/** One run's upload of its output to object storage (docs/output-delivery.md). */
export interface OutputDeliveryTable {
  invoke_id: string;
  instance_id: string;
  execution: number;
  bucket: string;
  object_key: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  error_code: string;
  error_info: string;
  updated_at: number;
}

export interface InvocationInstanceTable {
  seq: Generated<number>;
  invoke_id: string;
  instance_id: string;
  /** 0: the invocation on this instance (and its only run, for Once and NextRebootOnly); n: run n of a schedule or EveryReboot task. */
  execution: Generated<number>;
  status: string;
  error_code: string;
  error_info: string;
  exit_code: number | null;
  output_bytes: number;
  dropped_bytes: number;
  delivered: number;
  /** Runs so far (on row 0), or this run's ordinal (on row n). */
  repeats: Generated<number>;
  /** When a scheduled run was due; 0 for runs that were not scheduled. */
  scheduled_at: Generated<number>;
  created_at: number;
  start_time: number;
  finish_time: number;
  stop_time: number;
  update_time: number;
  /** 1: a rolling run's instance not released yet (Pending, not deliverable). */
  held: Generated<number>;
}

export interface OutputChunkTable {
  invoke_id: string;
  instance_id: string;
  execution: Generated<number>;
  byte_offset: number;
  data: Buffer;
}

export interface ClientTokenTable {
  owner: string;
  action: string;
  token: string;
  request_hash: string;
  state: string;
  response: string;
  created_at: number;
}

export interface InvocationQuotaTable {
  region_id: string;
  utc_day: string;
  used: number;
}

export interface ResourceGroupTable {
  seq: Generated<number>;
  id: string;
  name: string;
  display_name: string;
  created_at: number;
}

export interface ParameterTable {
  seq: Generated<number>;
  id: string;
  region_id: string;
  kind: string;
  name: string;
  type: string;
  value: string;
  description: string;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface LeaseTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface ServerNodeTable {
  id: string;
  url: string;
  version: string;
  started_at: number;
  heartbeat_at: number;
  agents: number;
}

export interface CloudAssistantSettingTable {
  region_id: string;
  setting_type: string;
  /** The setting's JSON. */
  value: string;
  updated_at: number;
}

export interface FileUploadTable {
  id: string;
  region_id: string;
  owner: string;
  size_bytes: number;
  sha256: string;
  received_bytes: number;
  state: string;
  invoke_id: string;
  created_at: number;
}

export interface FileUploadChunkTable {
  upload_id: string;
  byte_offset: number;
  data: Buffer;
}

export interface TerminalSessionTable {
  seq: Generated<number>;
  id: string;
  region_id: string;
  instance_id: string;
  username: string;
  command_line: string;
  port_number: number;
  target_server: string;
  connection_type: string;
  password_name: string;
  encryption_options: string;
  access_key_id: string;
  identity_type: string;
  record_input: number;
  token_hash: string;
  token_expires_at: number;
  status: string;
  node_id: string;
  client_ip: string;
  created_at: number;
  started_at: number;
  ended_at: number;
  closed_reason: string;
  failed_detail: string;
  exit_code: number | null;
  recorded_bytes: number;
  dropped_bytes: number;
}

export interface TerminalSessionChunkTable {
  session_id: string;
  direction: string;
  byte_offset: number;
  data: Buffer;
}

export interface WebhookTable {
  seq: Generated<number>;
  id: string;
  url: string;
  secret_sealed: string;
  /** Empty: every group's events. */
  resource_group_id: string;
  /** Empty: events of any tags; else only of invocations or commands with this tag (and value, unless empty). */
  tag_key: Generated<string>;
  tag_value: Generated<string>;
  created_at: number;
  delivered_count: Generated<number>;
  failed_count: Generated<number>;
  last_error: Generated<string>;
  last_failed_at: Generated<number>;
}

export interface WebhookOutboxTable {
  seq: Generated<number>;
  event_id: string;
  webhook_id: string;
  body: string;
  created_at: number;
  attempts: Generated<number>;
  next_attempt_at: number;
  claimed_until: Generated<number>;
  last_error: Generated<string>;
}

export interface AuditEventTable {
  seq: Generated<number>;
  event_time: number;
  event_name: string;
  event_rw: string;
  access_key_id: string;
  /** The record's resource ids, each between spaces: " mi-1 c-2 ". */
  resource_ids: string;
  body: string;
}

export interface Schema {
  audit_events: AuditEventTable;
  webhooks: WebhookTable;
  webhook_outbox: WebhookOutboxTable;
  terminal_sessions: TerminalSessionTable;
  terminal_session_chunks: TerminalSessionChunkTable;
  file_uploads: FileUploadTable;
  file_upload_chunks: FileUploadChunkTable;
  cloud_assistant_settings: CloudAssistantSettingTable;
  leases: LeaseTable;
  server_nodes: ServerNodeTable;
  access_keys: AccessKeyTable;
  nonces: NonceTable;
  commands: CommandTable;
  tags: TagTable;
  activations: ActivationTable;
  instances: InstanceTable;
  invocations: InvocationTable;
  invocation_instances: InvocationInstanceTable;
  output_chunks: OutputChunkTable;
  output_deliveries: OutputDeliveryTable;
  client_tokens: ClientTokenTable;
  invocation_quota: InvocationQuotaTable;
  resource_groups: ResourceGroupTable;
  parameters: ParameterTable;
}
