import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertSeller } from '../../src/sellers/index.ts';
import { checkoutSellers } from '../../src/sellers/store.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 3 });
  await insertSeller(db.pool, { sellerAccount: 'cs_eur', name: 'Euro shop', currency: 'EUR', metadata: {} });
  await insertSeller(db.pool, {
    sellerAccount: 'cs_usd',
    name: 'Dollar shop',
    currency: 'USD',
    metadata: {},
  });
  await db.pool.query(`UPDATE sellers.sellers SET status = 'inactive' WHERE seller_account = 'cs_usd'`);
});
afterAll(async () => {
  await db.drop();
});

/** A checkout reads its sellers once (issue 17): whether each is registered, active, and in which currency. */
describe('checkoutSellers', () => {
  it('returns the registered sellers with their status and currency, and leaves out unknown ones', async () => {
    const sellers = await checkoutSellers(db.pool, ['cs_usd', 'cs_nobody', 'cs_eur', 'cs_eur']);
    expect([...sellers.entries()].sort()).toEqual([
      ['cs_eur', { status: 'active', currency: 'EUR' }],
      ['cs_usd', { status: 'inactive', currency: 'USD' }],
    ]);
  });

  it('share-locks the sellers it read: a deactivation waits until the checkout has committed', async () => {
    const checkout = await db.pool.connect();
    const maintenance = await db.pool.connect();
    try {
      await checkout.query('BEGIN');
      expect((await checkoutSellers(checkout, ['cs_eur'])).get('cs_eur')?.status).toBe('active');
      await maintenance.query('BEGIN');
      await maintenance.query(`SET LOCAL lock_timeout = '200ms'`);
      await expect(
        maintenance.query(`UPDATE sellers.sellers SET status = 'inactive' WHERE seller_account = 'cs_eur'`),
      ).rejects.toMatchObject({ code: '55P03' });
      await maintenance.query('ROLLBACK');
      // Another checkout's read shares the lock: it is not held up.
      await maintenance.query('BEGIN');
      await maintenance.query(`SET LOCAL lock_timeout = '200ms'`);
      expect((await checkoutSellers(maintenance, ['cs_eur'])).size).toBe(1);
      await maintenance.query('ROLLBACK');
      await checkout.query('COMMIT');
    } finally {
      checkout.release();
      maintenance.release();
    }
  });
});
