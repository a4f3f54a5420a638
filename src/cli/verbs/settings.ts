import type { Command } from 'commander';
import { ConfigError } from '../../config.js';
import { printJson, printTable } from '../presenter.js';
import { openSession, type SessionFlags, verb } from '../session.js';

type FieldKind = 'number' | 'boolean' | 'string' | 'list';

/**
 * The setting types (DescribeCloudAssistantSettings' SettingType.N) and, for those `set` can
 * change, the fields of their JSON (ModifyCloudAssistantSettings) with how a `FIELD=VALUE` is read.
 */
const fieldsByType: Record<string, Record<string, FieldKind>> = {
  AgentUpgradeConfig: {
    Enabled: 'boolean',
    AllowedUpgradeWindow: 'list',
    TimeZone: 'string',
    BootstrapUpgrade: 'boolean',
    DisableUpgrade: 'boolean',
  },
  ResourceUsageConfig: {
    CpuLimit: 'number',
    MemoryLimit: 'string',
    KeepScriptFile: 'boolean',
    LogSizeLimit: 'string',
    LogFileCountLimit: 'number',
    OverloadLimit: 'number',
  },
  SessionManagerConfig: { SessionManagerEnabled: 'boolean', RecordInput: 'boolean' },
  InvocationDelivery: {
    Enabled: 'boolean',
    BucketName: 'string',
    Prefix: 'string',
    EncryptionType: 'string',
  },
};
const settingTypes = [...Object.keys(fieldsByType), 'SessionManagerDelivery'];
// Where DescribeCloudAssistantSettings answers a type that is not its own key.
const answeredAs: Record<string, string> = { InvocationDelivery: 'OssDeliveryConfigs' };

/** `FIELD=VALUE` as the JSON field's type; an empty VALUE clears the field. */
export function readField(type: string, pair: string): [string, unknown] {
  const fields = fieldsByType[type] ?? {};
  const eq = pair.indexOf('=');
  const name = eq < 0 ? pair : pair.slice(0, eq);
  const kind = fields[name];
  if (eq < 0 || kind === undefined) {
    throw new ConfigError(
      `"${pair}" is not FIELD=VALUE with a field of ${type}: ${Object.keys(fields).join(', ')}`,
    );
  }
  const text = pair.slice(eq + 1);
  if (text === '') return [name, ''];
  if (kind === 'list') return [name, text.split(',').map((item) => item.trim())];
  if (kind === 'boolean') {
    if (text !== 'true' && text !== 'false') throw new ConfigError(`${name} is true or false`);
    return [name, text === 'true'];
  }
  if (kind === 'number') {
    if (!/^\d+$/.test(text)) throw new ConfigError(`${name} is a whole number`);
    return [name, Number(text)];
  }
  return [name, text];
}

const show = (value: unknown): string =>
  typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);

/** `openassist settings get|set`: the Cloud Assistant settings of the region. */
export function registerSettings(program: Command): void {
  const settings = program.command('settings').description('Cloud Assistant settings of the region');
  verb(
    settings,
    'get',
    `show settings (default: every type: ${settingTypes.join(', ')})`,
    'openassist settings get ResourceUsageConfig',
  )
    .argument('[type...]')
    .action(async (types: string[], flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      const asked = types.length > 0 ? types : settingTypes;
      const body = await call<Record<string, unknown>>(
        'DescribeCloudAssistantSettings',
        Object.fromEntries(asked.map((type, index) => [`SettingType.${index + 1}`, type])),
      );
      const { RequestId: _, ...shown } = body;
      if (p.json) return printJson(p, shown);
      const rows: string[][] = [];
      for (const [setting, value] of Object.entries(shown)) {
        const entries = typeof value === 'object' && value !== null ? Object.entries(value) : [];
        if (entries.length === 0) rows.push([setting, '', '(not set)']);
        for (const [field, fieldValue] of entries) rows.push([setting, field, show(fieldValue)]);
      }
      printTable(p, ['Setting', 'Field', 'Value'], rows);
    });
  verb(
    settings,
    'set',
    `change fields of ${Object.keys(fieldsByType).join(' or ')} (FIELD= clears one)`,
    'openassist settings set ResourceUsageConfig CpuLimit=20 MemoryLimit=64MB',
  )
    .argument('<type>', Object.keys(fieldsByType).join(' | '))
    .argument('[field=value...]')
    .option('--config <json>', "the setting's JSON as the API takes it, instead of FIELD=VALUE")
    .action(async (type: string, pairs: string[], flags: SessionFlags & { config?: string }) => {
      if (flags.config !== undefined && pairs.length > 0) {
        throw new ConfigError('give --config or FIELD=VALUE pairs, not both');
      }
      if (flags.config === undefined && pairs.length === 0) {
        throw new ConfigError('give FIELD=VALUE pairs or --config');
      }
      const { call, p } = await openSession(flags);
      // The server checks the type and every field; pairs are read here only to type their values.
      const json =
        flags.config ?? JSON.stringify(Object.fromEntries(pairs.map((pair) => readField(type, pair))));
      await call('ModifyCloudAssistantSettings', { SettingType: type, [type]: json });
      const body = await call<Record<string, unknown>>('DescribeCloudAssistantSettings', {
        'SettingType.1': type,
      });
      const value = body[answeredAs[type] ?? type] ?? {};
      if (p.json) return printJson(p, value);
      printTable(
        p,
        ['Setting', 'Field', 'Value'],
        Object.entries(value).map(([field, fieldValue]) => [type, field, show(fieldValue)]),
      );
    });
}
