import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, ensureDevKey } from '../../src/apikeys/service.ts';
import { revokeKey } from '../../src/apikeys/store.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-devkey-'));
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the development key', () => {
  it('is created once at first start, kept for the developer (mode 0600), and the same on the next start', async () => {
    const first = await ensureDevKey(db.pool, undefined, dataDir);
    expect(first.createdNow).toBe(true);
    expect(first.secret).toMatch(/^bsk_/);
    expect(fs.statSync(path.join(dataDir, 'dev-api-key')).mode & 0o777).toBe(0o600);
    const second = await ensureDevKey(db.pool, undefined, dataDir);
    expect(second).toMatchObject({ id: first.id, secret: first.secret, createdNow: false });
    expect((await authenticate(db.pool, first.secret ?? ''))?.scopes).toEqual([
      'payments:write',
      'payments:read',
      'ops',
    ]);
  });

  it('takes its value from BURSAR_API_KEY, registering it once', async () => {
    const fixed = 'fixed_value_for_scripts_0001';
    const first = await ensureDevKey(db.pool, fixed, undefined);
    expect(first.createdNow).toBe(true);
    const again = await ensureDevKey(db.pool, fixed, undefined);
    expect(again).toMatchObject({ id: first.id, createdNow: false });
  });

  it('refuses a BURSAR_API_KEY that is too short or has spaces', async () => {
    await expect(ensureDevKey(db.pool, 'short', undefined)).rejects.toThrow(/at least 16 characters/);
    await expect(ensureDevKey(db.pool, 'sixteen chars with spaces', undefined)).rejects.toThrow(/no spaces/);
  });

  it('refuses a BURSAR_API_KEY whose key was revoked, rather than bring it back', async () => {
    const fixed = 'fixed_value_then_revoked_0002';
    const created = await ensureDevKey(db.pool, fixed, undefined);
    await revokeKey(db.pool, created.id);
    await expect(ensureDevKey(db.pool, fixed, undefined)).rejects.toThrow(/revoked/);
    expect(await authenticate(db.pool, fixed)).toBeUndefined();
  });
});
