import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The file, in the data dir, holding the installation's key for endpoint secrets when none is given. */
export const ENDPOINT_KEY_FILE = 'webhook-endpoints-key';

/**
 * The AES-256 key that encrypts webhook endpoints' signing secrets at rest: BURSAR_WEBHOOK_ENDPOINTS_KEY (32 bytes,
 * as 64 hex digits or base64), or else one generated at first use and kept (mode 0600) in
 * `<dataDir>/webhook-endpoints-key`, so every process sharing the data dir uses the same. Never a constant.
 */
export function endpointSecretKey(env: NodeJS.ProcessEnv, dataDir: string): Buffer {
  const given = env.BURSAR_WEBHOOK_ENDPOINTS_KEY;
  if (given !== undefined && given !== '') return parseKey(given, 'BURSAR_WEBHOOK_ENDPOINTS_KEY');
  const file = path.join(dataDir, ENDPOINT_KEY_FILE);
  try {
    return parseKey(fs.readFileSync(file, 'utf8').trim(), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch {
    // Another process wrote it first: read theirs.
  }
  return parseKey(fs.readFileSync(file, 'utf8').trim(), file);
}

function parseKey(text: string, source: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error(`${source} must be 32 bytes (64 hex digits or base64)`);
  return key;
}

/** Seals and opens secrets with AES-256-GCM: `v1.<iv>.<tag>.<ciphertext>` (base64url parts). */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

export function secretBox(key: Buffer): SecretBox {
  return {
    seal: (plain) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), data]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    open: (sealed) => {
      const [version, iv, tag, data] = sealed.split('.');
      if (version !== 'v1' || iv === undefined || tag === undefined || data === undefined) {
        throw new Error('a sealed secret must be v1.<iv>.<tag>.<data>');
      }
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}
