import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ErrorCodes, TenantryError } from './errors.js';

/**
 * AES-256-GCM for the connection URLs of servers, which carry passwords. Stored as
 * `v1:<key id>:<iv>:<tag>:<ciphertext>` (base64url), the key id being the first 8 hex digits
 * of the key's sha256, so a wrong key is named as such instead of failing obscurely.
 */
export class UrlCipher {
  readonly #key: Buffer;
  /** Identifies the key without revealing it. */
  readonly keyId: string;

  constructor(key: Buffer) {
    if (key.length !== 32)
      throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'the encryption key must be 32 bytes (give it as 64 hex digits or base64)');
    this.#key = Buffer.from(key);
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  /**
   * Reads a key given as 64 hex digits or as base64 of 32 bytes.
   * @example
   * ```ts
   * UrlCipher.parse(process.env.TENANTRY_ENCRYPTION_KEY) // generate one: openssl rand -hex 32
   * ```
   */
  static parse(text: string): UrlCipher {
    const trimmed = text.trim();
    const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
    if (key.length !== 32)
      throw new TenantryError(
        ErrorCodes.INVALID_ARGUMENT,
        'the encryption key must be 32 bytes: 64 hex digits (openssl rand -hex 32) or base64',
      );
    return new UrlCipher(key);
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', this.keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
  }

  decrypt(stored: string): string {
    const parts = stored.split(':');
    if (parts.length !== 5 || parts[0] !== 'v1')
      throw new TenantryError(ErrorCodes.ENCRYPTION_KEY_MISMATCH, 'a stored server URL is not in the v1 encrypted format');
    if (parts[1] !== this.keyId) {
      throw new TenantryError(
        ErrorCodes.ENCRYPTION_KEY_MISMATCH,
        `a stored server URL was encrypted with key ${parts[1]}, but the configured key is ${this.keyId}; configure the key it was stored with`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(parts[2]!, 'base64url'));
      decipher.setAuthTag(Buffer.from(parts[3]!, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(parts[4]!, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new TenantryError(
        ErrorCodes.ENCRYPTION_KEY_MISMATCH,
        'a stored server URL failed authentication: it was altered, or encrypted with another key',
        { cause: err },
      );
    }
  }
}

/** `user@host:port/db` — a URL with its password removed, for lists and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable url)';
  }
}
