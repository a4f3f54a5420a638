import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootKeyFileName } from '../data-files.js';
import { newAccessKeyId, newAccessKeySecret } from '../domain/ids.js';
import type { Store } from '../store/store.js';

export type RootKeySource = 'environment' | 'generated' | 'existing';

/**
 * On the first start of an empty database, creates the root access key: the one from the
 * environment when given, else a new one written to DATA_DIR/root-access-key.json (mode 0600).
 */
export async function ensureRootAccessKey(
  store: Store,
  options: { dataDir: string; fromEnvironment: { id: string; secret: string } | undefined; nowMs: number },
): Promise<RootKeySource> {
  const { fromEnvironment, nowMs } = options;
  if ((await store.accessKeys.count()) > 0) return 'existing';
  const key = fromEnvironment ?? { id: newAccessKeyId(), secret: newAccessKeySecret() };
  await store.accessKeys.insert({
    id: key.id,
    secret: key.secret,
    status: 'Active',
    description: 'root',
    createdAtMs: nowMs,
  });
  if (fromEnvironment) return 'environment';
  const file = join(options.dataDir, rootKeyFileName);
  const content = {
    AccessKeyId: key.id,
    AccessKeySecret: key.secret,
    CreationTime: new Date(nowMs).toISOString(),
  };
  await writeFile(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600); // an older file keeps its mode on overwrite
  return 'generated';
}
