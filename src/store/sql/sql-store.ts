import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Schema } from '../schema.js';
import type { Notifications, Store, StoreTelemetry } from '../store.js';
import { accessKeyRepo } from './access-keys.js';
import { activationRepo } from './activations.js';
import { auditEventRepo } from './audit-events.js';
import { clientTokenRepo } from './client-tokens.js';
import { clusterRepo } from './cluster.js';
import { commandRepo } from './commands.js';
import { fileUploadRepo } from './file-uploads.js';
import { instanceRepo } from './instances.js';
import { invocationRepo } from './invocations.js';
import { nonceRepo } from './nonces.js';
import { outputDeliveryRepo } from './output-deliveries.js';
import { parameterRepo } from './parameters.js';
import { resourceGroupRepo } from './resource-groups.js';
import { settingRepo } from './settings.js';
import { tagRepo } from './tag-repo.js';
import { storeTelemetry } from './telemetry.js';
import { terminalSessionRepo } from './terminal-sessions.js';
import { eventRecorder, type WebhookGate, webhookRepo } from './webhooks.js';

/** One node alone (SQLite): there is nobody to tell. */
const silentNotifications: Notifications = {
  publish: async () => undefined,
  listen: async () => async () => undefined,
};

/** The one Store implementation: Kysely queries that both dialects understand. */
export function sqlStore(
  db: Kysely<Schema>,
  dialect: Store['dialect'],
  notifications: Notifications = silentNotifications,
  closeExtra: () => Promise<void> = async () => undefined,
  own: Pick<StoreTelemetry, 'pool' | 'walBytes'> = { pool: () => undefined, walBytes: () => undefined },
): Store {
  // Opened active (events are written, at a small cost, until the first `refreshGate` says none
  // is needed): a webhook made before this start must not miss the first changes.
  const gate: WebhookGate = { active: true };
  return {
    dialect,
    cluster: clusterRepo(db),
    notifications,
    accessKeys: accessKeyRepo(db),
    nonces: nonceRepo(db, dialect),
    commands: commandRepo(db, dialect),
    activations: activationRepo(db),
    instances: instanceRepo(db, dialect),
    invocations: invocationRepo(db, dialect, eventRecorder(gate)),
    webhooks: webhookRepo(db, gate),
    clientTokens: clientTokenRepo(db),
    tags: tagRepo(db),
    resourceGroups: resourceGroupRepo(db),
    parameters: parameterRepo(db),
    settings: settingRepo(db),
    fileUploads: fileUploadRepo(db, dialect),
    terminalSessions: terminalSessionRepo(db, dialect),
    outputDeliveries: outputDeliveryRepo(db),
    auditEvents: auditEventRepo(db, dialect),
    telemetry: storeTelemetry(db, own),
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    async close() {
      await closeExtra();
      await db.destroy();
    },
  };
}
