import fs from 'node:fs';
import path from 'node:path';
import type { Pool, Queryable } from '../db/pool.ts';
import { SCOPES, type Scope } from './scopes.ts';
import { generateKeyId, generateSecret, hashSecret, hintOf } from './secret.ts';
import * as store from './store.ts';

export interface CreatedKey {
  id: string;
  /** Shown once, to whoever created the key; only its hash is stored. */
  secret: string;
  scopes: Scope[];
}

export async function createKey(db: Queryable, name: string, scopes: Scope[]): Promise<CreatedKey> {
  if (scopes.length === 0) throw new Error('a key needs at least one scope');
  const secret = generateSecret();
  const id = generateKeyId();
  await store.insertKey(db, { id, name, secretHash: hashSecret(secret), hint: hintOf(secret), scopes });
  return { id, secret, scopes };
}

export async function authenticate(pool: Pool, secret: string): Promise<store.ApiKeyRecord | undefined> {
  return await store.findActiveByHash(pool, hashSecret(secret));
}

export const MIN_FIXED_KEY_LENGTH = 16;

export interface DevKey {
  id: string;
  /** Undefined when the key was created by an earlier start and is not kept in plain text. */
  secret: string | undefined;
  createdNow: boolean;
}

/**
 * The development key, with every scope. `BURSAR_API_KEY` fixes its value (registered if new). Otherwise one is
 * created at the first start of an empty database and its secret is kept, for the local developer only, in
 * `<dataDir>/dev-api-key` (mode 0600) so that every later `npm start` can print it again.
 */
export async function ensureDevKey(
  pool: Pool,
  fixed: string | undefined,
  dataDir: string | undefined,
): Promise<DevKey> {
  if (fixed !== undefined) {
    if (fixed.length < MIN_FIXED_KEY_LENGTH || /\s/.test(fixed)) {
      throw new Error(`BURSAR_API_KEY must be at least ${MIN_FIXED_KEY_LENGTH} characters with no spaces`);
    }
    const hash = hashSecret(fixed);
    const existing = await store.findByHash(pool, hash);
    if (existing) {
      if (existing.revokedAt) throw new Error(`BURSAR_API_KEY names key ${existing.id}, which was revoked`);
      return { id: existing.id, secret: fixed, createdNow: false };
    }
    const id = generateKeyId();
    await store.insertKey(pool, {
      id,
      name: 'development (BURSAR_API_KEY)',
      secretHash: hash,
      hint: hintOf(fixed),
      scopes: [...SCOPES],
    });
    return { id, secret: fixed, createdNow: true };
  }
  const file = dataDir === undefined ? undefined : path.join(dataDir, 'dev-api-key');
  if (file !== undefined && fs.existsSync(file)) {
    const secret = fs.readFileSync(file, 'utf8').trim();
    const existing = await store.findActiveByHash(pool, hashSecret(secret));
    if (existing) return { id: existing.id, secret, createdNow: false };
  }
  if ((await store.countKeys(pool)) > 0 && file === undefined) {
    return { id: '', secret: undefined, createdNow: false };
  }
  const created = await createKey(pool, 'development', [...SCOPES]);
  if (file !== undefined) fs.writeFileSync(file, `${created.secret}\n`, { mode: 0o600 });
  return { id: created.id, secret: created.secret, createdNow: true };
}
