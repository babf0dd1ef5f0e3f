import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { holdReleased, payinSucceeded, postEntries, verifyLedger } from '../../src/ledger/index.ts';
import { ibanWithCheckDigits } from '../../src/payouts/bank.ts';
import { DEFAULT_DEBTOR } from '../../src/payouts/config.ts';
import { createIso20022Provider } from '../../src/payouts/iso20022/adapter.ts';
import { runPayouts } from '../../src/payouts/run.ts';
import type { PayoutProvider } from '../../src/payouts/port.ts';
import { createSandboxPayoutProvider } from '../../src/payouts/sandbox-provider/adapter.ts';
import { signPayload } from '../../sandbox/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { bearer, waitFor } from '../support/payins.ts';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';

let t: TestApp;
let sandbox: TestSandbox;
let appUrl: string;
const clock = new ManualClock('2030-03-10T08:00:00Z');
// Generated per run, as an installation's is: shared by the sandbox (which signs) and Bursar (which verifies).
const secret = `whsec_${randomBytes(24).toString('base64url')}`;

beforeAll(async () => {
  // The provider needs the app's and the sandbox's addresses, known only once both listen: the modules are built
  // with one that passes to it. The webhook route exists only while the sandbox is the provider.
  const set: { provider?: PayoutProvider } = {};
  t = await createTestApp({
    clock,
    overrides: {
      payouts: { provider: 'sandbox', sandboxWebhookSecret: secret },
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
  sandbox = await startTestSandbox({ pool: t.db.pool, config: { payoutWebhookSecret: secret } });
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

  it('refuses and keeps, never applies, a signed payout event that contradicts the payout (returned twice, paid before it was sent, about a pain.001 payout)', async () => {
    // Each seller is opened just before its own run: a run settles every seller due that day, funded or not.
    const ibans: Record<string, string> = {
      sb_twice: ibanWithCheckDigits('DE', '370400440532010004'),
      sb_unsent: ibanWithCheckDigits('DE', '370400440532017777'),
      sb_file: ibanWithCheckDigits('DE', '370400440532018888'),
    };
    const open = async (id: string) => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/v1/sellers',
        headers: bearer(t.key),
        payload: {
          seller_account: id,
          name: id,
          currency: 'EUR',
          payout: { iban: ibans[id], bic: 'COBADEFFXXX', schedule: { interval: 'daily' } },
        },
      });
      expect(created.statusCode, created.body).toBe(201);
    };
    const fund = async (sellerId: string) => {
      await open(sellerId);
      await withTransaction(t.db.pool, (client) =>
        postEntries(client, [
          payinSucceeded({
            currency: 'EUR',
            paymentOrderId: `${sellerId}_po`,
            sellerId,
            grossMinor: 5_000n,
            platformFeeMinor: 0n,
          }),
          holdReleased({ currency: 'EUR', releaseId: `${sellerId}_po`, sellerId, amountMinor: 5_000n }),
        ]),
      );
    };
    const run = (provider: Parameters<typeof runPayouts>[0]['provider']) =>
      runPayouts({ pool: t.db.pool, log: t.ctx.log, provider, now: clock.now() }, '2030-03-10');
    const payoutOf = async (seller: string) =>
      ((await get(`/v1/sellers/${seller}/payouts`)).data as Array<Record<string, unknown>>)[0] ?? {};
    const send = async (type: 'payout.paid' | 'payout.returned', payoutId: unknown) => {
      const body = JSON.stringify({
        id: `evt_${randomBytes(8).toString('hex')}`,
        type,
        data: { external_id: payoutId, transfer_id: 'tr_forged', reason: 'AC04 closed account' },
      });
      const sign = () => signPayload(body, secret, Math.floor(Date.now() / 1000));
      const post = () =>
        fetch(`${appUrl}/v1/webhooks/payouts/sandbox`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'sandbox-signature': sign() },
          body,
        });
      const first = await post();
      const again = await post();
      return {
        first: first.status,
        code: ((await first.json()) as { error?: { code?: string } }).error?.code,
        again: again.status,
      };
    };

    // Returned twice: the provider returns sb_twice's payout (closed account), then a second return comes.
    await fund('sb_twice');
    await run(
      createSandboxPayoutProvider({
        baseUrl: sandbox.url,
        notifyUrl: `${appUrl}/v1/webhooks/payouts/sandbox`,
        completeAfterMs: 0,
      }),
    );
    await waitFor(
      async () => ((await payoutOf('sb_twice')).status === 'returned' ? true : undefined),
      20_000,
      'sb_twice returned',
    );
    const twice = await send('payout.returned', (await payoutOf('sb_twice')).id);
    expect(twice).toEqual({ first: 409, code: 'payout_event_refused', again: 409 });
    expect(await get('/v1/sellers/sb_twice/balance')).toMatchObject({ available: '50.00', paid_out: '0.00' });

    // Paid before it was sent: the provider never took sb_unsent's payout (nothing listens there), so it is pending.
    await fund('sb_unsent');
    await run(
      createSandboxPayoutProvider({
        baseUrl: 'http://127.0.0.1:9',
        notifyUrl: `${appUrl}/v1/webhooks/payouts/sandbox`,
        timeoutMs: 2_000,
      }),
    );
    const unsent = await payoutOf('sb_unsent');
    expect(unsent.status).toBe('pending');
    expect(await send('payout.paid', unsent.id)).toMatchObject({ first: 409, code: 'payout_event_refused' });
    expect((await payoutOf('sb_unsent')).status).toBe('pending');

    // A payout in a pain.001 file is the bank's to settle: a sandbox event about it is refused either way.
    await fund('sb_file');
    await run(createIso20022Provider({ version: 'pain.001.001.09', debtorFor: () => DEFAULT_DEBTOR }));
    const inFile = await payoutOf('sb_file');
    expect(inFile.status).toBe('in_transit');
    expect(await send('payout.returned', inFile.id)).toMatchObject({
      first: 409,
      code: 'payout_event_refused',
    });
    expect(await send('payout.paid', inFile.id)).toMatchObject({ first: 409, code: 'payout_event_refused' });
    expect((await payoutOf('sb_file')).status).toBe('in_transit');
    expect(await get('/v1/sellers/sb_file/balance')).toMatchObject({
      available: '0.00',
      in_transit: '50.00',
      paid_out: '0.00',
    });

    // The refused events are kept, unprocessed, as evidence.
    const kept = await t.db.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM payouts.provider_events WHERE processed_at IS NULL',
    );
    expect(Number(kept.rows[0]?.n)).toBe(4);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  }, 60_000);
});
