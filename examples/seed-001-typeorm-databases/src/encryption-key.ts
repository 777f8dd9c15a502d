import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The key server URLs are encrypted with in the registry: `TENANTRY_ENCRYPTION_KEY`, or one made
 * at the first start and kept (mode 0600) in `$TENANTRY_DATA_DIR/<name>.key` (default
 * `.tenantry/…`) — a URL stored with one key cannot be read with another.
 */
export function encryptionKey(name: string, env: NodeJS.ProcessEnv = process.env): { key: string; where: string } {
  const given = env['TENANTRY_ENCRYPTION_KEY'];
  if (given) return { key: given, where: 'TENANTRY_ENCRYPTION_KEY' };
  const file = join(resolve(env['TENANTRY_DATA_DIR'] || '.tenantry'), `${name}.key`);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return { key: readFileSync(file, 'utf8').trim(), where: file };
}
