import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them. Times are epoch milliseconds, booleans 0/1, lists JSON text. */
export interface AccessKeyTable {
  id: string;
  secret: string;
  status: string;
  description: string;
  created_at: number;
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

export interface Schema {
  access_keys: AccessKeyTable;
  nonces: NonceTable;
  commands: CommandTable;
  tags: TagTable;
}
