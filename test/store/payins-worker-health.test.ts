import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { waitFor } from '../support/payins.ts';

let t: TestApp;

beforeAll(async () => {
  t = await createPayinsTestApp({ psp: new FakePsp(), payins: { tickIntervalMs: 50 } });
  await t.modules.payins.worker.start();
});

afterAll(async () => {
  await t.modules.payins.worker.stop();
  await t.close();
});

describe('the pay-in worker is never silently broken (issue 18)', () => {
  it('a loop step that keeps failing shows in its health (so in /readyz), and clears once the step works again', async () => {
    const worker = t.modules.payins.worker;
    await waitFor(
      async () => (worker.health?.() === undefined ? true : undefined),
      10_000,
      'a healthy worker',
    );
    // The fee follow-up's table goes away under the worker: its step fails on every tick, the others go on.
    await t.db.pool.query('ALTER TABLE payins.psp_fee_pending RENAME TO psp_fee_pending_away');
    try {
      await waitFor(
        async () => ((worker.health?.() ?? '').includes('psp_fees') ? true : undefined),
        10_000,
        'the failing step in health()',
      );
      expect(worker.health?.()).toBe('pay-in loop steps failing: psp_fees');
    } finally {
      await t.db.pool.query('ALTER TABLE payins.psp_fee_pending_away RENAME TO psp_fee_pending');
    }
    // Backed off meanwhile, it still comes back: well again within the longest backoff.
    await waitFor(
      async () => (worker.health?.() === undefined ? true : undefined),
      70_000,
      'health() clear again',
    );
  }, 90_000);
});
