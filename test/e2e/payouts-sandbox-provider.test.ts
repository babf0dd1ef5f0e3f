import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { holdReleased, payinSucceeded, postEntries, verifyLedger } from '../../src/ledger/index.ts';
import { ibanWithCheckDigits } from '../../src/payouts/bank.ts';
import { runPayouts } from '../../src/payouts/run.ts';
import type { PayoutProvider } from '../../src/payouts/port.ts';
import { createSandboxPayoutProvider } from '../../src/payouts/sandbox-provider/adapter.ts';
import { signPayload } from '../../src/sandbox/signature.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { bearer, waitFor } from '../support/payins.ts';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';

let t: TestApp;
let sandbox: TestSandbox;
let appUrl: string;
const clock = new ManualClock('2030-03-10T08:00:00Z');

beforeAll(async () => {
  // The provider needs the app's and the sandbox's addresses, known only once both listen: the modules are built
  // with one that passes to it.
  const set: { provider?: PayoutProvider } = {};
  t = await createTestApp({
    clock,
    overrides: {
      payouts: { provider: 'sandbox' },
      payoutProvider: {
        name: 'sandbox',
        submitPending: (deps, runDate, now) => {
          if (set.provider === undefined) throw new Error('the sandbox payout provider is not set yet');
          return set.provider.submitPending(deps, runDate, now);
        },
      },
    },
  });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  appUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  sandbox = await startTestSandbox({ pool: t.db.pool });
  set.provider = createSandboxPayoutProvider({
    baseUrl: sandbox.url,
    notifyUrl: `${appUrl}/v1/webhooks/payouts/sandbox`,
    completeAfterMs: 0,
  });
}, 60_000);

afterAll(async () => {
  await sandbox.stop();
  await t.close();
});

async function get(url: string): Promise<Record<string, unknown>> {
  return (await t.app.inject({ method: 'GET', url, headers: bearer(t.key) })).json();
}

describe('sandbox payout provider', () => {
  it('accepts payouts, then pays one and returns one (closed account) by signed webhook, booked once', async () => {
    const sellers = {
      sb_ok: ibanWithCheckDigits('DE', '370400440532019999'),
      sb_closed: ibanWithCheckDigits('DE', '370400440532010004'),
    };
    for (const [id, iban] of Object.entries(sellers)) {
      const created = await t.app.inject({
        method: 'POST',
        url: '/v1/sellers',
        headers: bearer(t.key),
        payload: {
          seller_account: id,
          name: id,
          currency: 'EUR',
          payout: { iban, bic: 'COBADEFFXXX', schedule: { interval: 'daily' } },
        },
      });
      expect(created.statusCode, created.body).toBe(201);
    }
    await withTransaction(t.db.pool, (client) =>
      postEntries(
        client,
        Object.keys(sellers).flatMap((sellerId) => [
          payinSucceeded({
            currency: 'EUR',
            paymentOrderId: `${sellerId}_po`,
            sellerId,
            grossMinor: 5_000n,
            platformFeeMinor: 0n,
          }),
          holdReleased({ currency: 'EUR', releaseId: `${sellerId}_po`, sellerId, amountMinor: 5_000n }),
        ]),
      ),
    );
    const report = await runPayouts(
      {
        pool: t.db.pool,
        log: t.ctx.log,
        provider: createSandboxPayoutProvider({
          baseUrl: sandbox.url,
          notifyUrl: `${appUrl}/v1/webhooks/payouts/sandbox`,
          completeAfterMs: 0,
        }),
        now: clock.now(),
      },
      '2030-03-10',
    );
    expect(report.payoutsCreated).toBe(2);
    expect(report.submit).toMatchObject({ submitted: 2, failed: 0 });

    const statusOf = async (seller: string) => {
      const list = (await get(`/v1/sellers/${seller}/payouts`)).data as Array<Record<string, unknown>>;
      return list[0]?.status;
    };
    await waitFor(
      async () => ((await statusOf('sb_ok')) === 'paid' ? true : undefined),
      20_000,
      'sb_ok paid',
    );
    await waitFor(
      async () => ((await statusOf('sb_closed')) === 'returned' ? true : undefined),
      20_000,
      'sb_closed returned',
    );
    expect(await get('/v1/sellers/sb_ok/balance')).toMatchObject({
      available: '0.00',
      in_transit: '0.00',
      paid_out: '50.00',
    });
    expect(await get('/v1/sellers/sb_closed/balance')).toMatchObject({
      available: '50.00',
      in_transit: '0.00',
      paid_out: '0.00',
    });
    expect(await get('/v1/sellers/sb_closed')).toMatchObject({ payout: { needs_bank_details: true } });
    const returned =
      ((await get('/v1/sellers/sb_closed/payouts')).data as Array<Record<string, unknown>>)[0] ?? {};
    expect(String(returned.return_reason)).toContain('AC04');

    // A redelivered event changes nothing; a forged one is refused.
    const stored = await t.db.pool.query<{ payload: unknown }>(
      "SELECT payload FROM payouts.provider_events WHERE type = 'payout.paid'",
    );
    const payload = JSON.stringify(stored.rows[0]?.payload);
    const secret = 'whsec_sandbox_payouts_development';
    const again = await fetch(`${appUrl}/v1/webhooks/payouts/sandbox`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'sandbox-signature': signPayload(payload, secret, Math.floor(Date.now() / 1000)),
      },
      body: payload,
    });
    expect(await again.json()).toMatchObject({ duplicate: true });
    const forged = await fetch(`${appUrl}/v1/webhooks/payouts/sandbox`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'sandbox-signature': signPayload(payload, 'whsec_wrong', Math.floor(Date.now() / 1000)),
      },
      body: payload,
    });
    expect(forged.status).toBe(400);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  }, 60_000);
});
