import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumUnavailableReason, launchChromium, type LaunchedBrowser } from '../support/chromium.ts';
import { uid, waitFor } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';

/**
 * The hosted payment flow as a buyer lives it: the marketplace asks Bursar for a 2-seller checkout, the buyer's
 * browser (headless Debian chromium) opens the PSP's page, types a card and is sent back; the sandbox's signed
 * webhooks reach Bursar over HTTP and Bursar's worker settles the orders. Each case ends with the orders' statuses
 * (from the API), the ledger entries and the sellers' pending balances (from the API), and a verified ledger.
 */
const skipReason = chromiumUnavailableReason();
if (skipReason !== undefined) console.warn(`skipping hosted-flow browser tests: ${skipReason}`);

const SELLERS = ['hb_alpha', 'hb_beta'] as const;

let stack: PayinsStack;
let chrome: LaunchedBrowser;
let shop: http.Server;
let returnUrl: string;

describe.skipIf(skipReason !== undefined)(
  'hosted payment page in chromium, end to end through Bursar',
  () => {
    beforeAll(async () => {
      // The marketplace's return page: it only says where the buyer landed.
      shop = http.createServer((request, response) => {
        response
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<h1>Back at the shop</h1>${request.url}`);
      });
      await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
      returnUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}/back`;
      [stack, chrome] = await Promise.all([startPayinsStack(), launchChromium()]);
      await stack.registerSellers([...SELLERS]);
    });

    afterAll(async () => {
      await chrome?.close();
      await stack?.close();
      shop?.closeAllConnections();
      await new Promise<void>((resolve) => (shop ? shop.close(() => resolve()) : resolve()));
    });

    interface Started {
      checkoutId: string;
      orderIds: [string, string];
      amountsMinor: [bigint, bigint];
      redirectUrl: string;
      sessionId: string;
    }

    /** The marketplace's call: a hosted checkout with one order per seller. */
    async function startCheckout(): Promise<Started> {
      const checkoutId = uid('hb');
      const orderIds: [string, string] = [`${checkoutId}_a`, `${checkoutId}_b`];
      const answer = await stack.pay(
        {
          checkout_id: checkoutId,
          buyer_info: { id: 'buyer_browser', email: 'ada@example.com', country: 'US' },
          credit_card_info: { flow: 'hosted_page', return_url: returnUrl },
          payment_orders: [
            { payment_order_id: orderIds[0], seller_account: SELLERS[0], amount: '30.00', currency: 'USD' },
            { payment_order_id: orderIds[1], seller_account: SELLERS[1], amount: '12.50', currency: 'USD' },
          ],
        },
        uid('idem'),
      );
      expect(answer.status).toBe(201);
      expect(answer.json).toMatchObject({ status: 'requires_action', is_payment_done: false });
      const redirectUrl = (answer.json.next_action as { redirect_url: string }).redirect_url;
      const sessionId = /\/c\/pay\/(cs_[A-Za-z0-9_]+)$/.exec(redirectUrl)?.[1];
      if (sessionId === undefined) throw new Error(`unexpected redirect_url ${redirectUrl}`);
      return { checkoutId, orderIds, amountsMinor: [3000n, 1250n], redirectUrl, sessionId };
    }

    async function openPage(url: string): Promise<Page> {
      const context = await chrome.browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      return page;
    }

    async function typeCard(page: Page, number: string): Promise<void> {
      await page.getByLabel('Card number').fill(number);
      await page.getByLabel('Expiry').fill('12 / 34');
      await page.getByLabel('CVC').fill('123');
      await page.getByLabel('Name on card').fill('Ada Buyer');
      await page.getByRole('button', { name: 'Pay', exact: true }).click();
    }

    /** Waits until the browser is back at the marketplace's return URL with this outcome. */
    async function expectBackAtShop(page: Page, started: Started, outcome: string): Promise<void> {
      await page.waitForURL((url) => url.href.startsWith(returnUrl), { timeout: 15_000 });
      const landed = new URL(page.url());
      expect(Object.fromEntries(landed.searchParams)).toEqual({
        checkout_id: started.checkoutId,
        outcome,
        session_id: started.sessionId,
      });
      await expect.poll(() => page.locator('h1').textContent()).toBe('Back at the shop');
    }

    async function pendingBalances(): Promise<[bigint, bigint]> {
      return [await stack.pendingMinor(SELLERS[0]), await stack.pendingMinor(SELLERS[1])];
    }

    /** Both orders SUCCESS, one balanced entry each for the gross, the sellers' pending balances up by their share. */
    async function expectPaid(
      started: Started,
      before: [bigint, bigint],
      history = ['NOT_STARTED', 'EXECUTING', 'SUCCESS'],
    ): Promise<void> {
      const shares: bigint[] = [];
      for (const [index, id] of started.orderIds.entries()) {
        const order = await stack.waitForStatus(id, 'SUCCESS');
        expect(order).toMatchObject({ status_reason: 'psp_succeeded', ledger_updated: true });
        expect(order.status_history.map((step) => step.to)).toEqual(history);
        expect(await stack.successEntries(id)).toBe(1);
        const entry = await stack.successEntry(id);
        const debits = entry?.postings.filter((p) => p.direction === 'debit') ?? [];
        expect(debits.map((p) => [p.accountCode, p.amountMinor])).toEqual([
          ['platform:psp_clearing:USD', started.amountsMinor[index]],
        ]);
        const share = entry?.postings.find((p) => p.accountCode === `seller:${SELLERS[index]}:pending:USD`);
        expect(share?.direction).toBe('credit');
        shares.push(share?.amountMinor ?? -1n);
      }
      expect(await pendingBalances()).toEqual([before[0] + (shares[0] ?? 0n), before[1] + (shares[1] ?? 0n)]);
      const checkout = await stack.get(`/v1/checkouts/${started.checkoutId}`);
      expect(checkout.json).toMatchObject({ status: 'succeeded', is_payment_done: true });
      expect(checkout.json.next_action).toBeUndefined();
      expect(await stack.ledgerOk()).toBe(true);
    }

    /** Both orders FAILED for `reason`, no entry, no balance moved. */
    async function expectNotPaid(started: Started, before: [bigint, bigint], reason: string): Promise<void> {
      for (const id of started.orderIds) {
        const order = await stack.waitForStatus(id, 'FAILED');
        expect(order).toMatchObject({ status_reason: reason, ledger_updated: false });
        expect(await stack.successEntries(id)).toBe(0);
      }
      expect(await pendingBalances()).toEqual(before);
      const checkout = await stack.get(`/v1/checkouts/${started.checkoutId}`);
      expect(checkout.json).toMatchObject({ status: 'failed', is_payment_done: true });
      expect(await stack.ledgerOk()).toBe(true);
    }

    async function expectStillWaiting(started: Started, status: string): Promise<void> {
      for (const id of started.orderIds) {
        const order = await stack.order(id);
        expect(order.status).toBe(status);
        expect(await stack.successEntries(id)).toBe(0);
      }
    }

    it('a good card: the buyer lands on return_url, both orders SUCCESS with one entry each, wallets credited', async () => {
      const before = await pendingBalances();
      const started = await startCheckout();
      const page = await openPage(started.redirectUrl);
      await typeCard(page, '4242 4242 4242 4242');
      await expectBackAtShop(page, started, 'succeeded');
      await expectPaid(started, before);
      await page.context().close();
    });

    it('a declined card: the page says why and no money moves; the buyer cancels back to return_url, and the abandoned session’s expiry fails both orders', async () => {
      const before = await pendingBalances();
      const started = await startCheckout();
      const page = await openPage(started.redirectUrl);
      await typeCard(page, '4000 0000 0000 0002');
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('Your card was declined.');
      await page.getByRole('link', { name: 'Cancel and return' }).click();
      await expectBackAtShop(page, started, 'cancelled');
      // A decline on a hosted page is not final: the buyer may come back with another card until the session ends.
      await expectStillWaiting(started, 'EXECUTING');
      expect((await stack.get(`/v1/checkouts/${started.checkoutId}`)).json.status).toBe('requires_action');
      // The PSP expires an abandoned session (after 24 hours at Stripe); here it is told to now.
      await stack.sandbox.stripe.checkout.sessions.expire(started.sessionId);
      await expectNotPaid(started, before, 'expired');
      await page.context().close();
    });

    it('3-D Secure approved: the challenge passes, the buyer returns, both orders SUCCESS with their entries', async () => {
      const before = await pendingBalances();
      const started = await startCheckout();
      const page = await openPage(started.redirectUrl);
      await typeCard(page, '4000 0027 6000 3184');
      await page.getByRole('button', { name: 'Complete authentication' }).click();
      await expectBackAtShop(page, started, 'succeeded');
      await expectPaid(started, before);
      await page.context().close();
    });

    it('3-D Secure failed: the page says so and nothing is paid; the orders fail when the session expires', async () => {
      const before = await pendingBalances();
      const started = await startCheckout();
      const page = await openPage(started.redirectUrl);
      await typeCard(page, '4000 0027 6000 3184');
      await page.getByRole('button', { name: 'Fail authentication' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('unable to authenticate');
      await expectStillWaiting(started, 'EXECUTING');
      await page.getByRole('link', { name: 'Cancel and return' }).click();
      await expectBackAtShop(page, started, 'cancelled');
      await stack.sandbox.stripe.checkout.sessions.expire(started.sessionId);
      await expectNotPaid(started, before, 'expired');
      await page.context().close();
    });

    it('a payment in review: the buyer returns at once, the orders wait PENDING with no entry, and settle SUCCESS when the PSP approves', async () => {
      const before = await pendingBalances();
      const started = await startCheckout();
      const page = await openPage(started.redirectUrl);
      await typeCard(page, '4000 0000 0000 9235');
      await expectBackAtShop(page, started, 'succeeded');
      for (const id of started.orderIds) {
        expect(await stack.waitForStatus(id, 'PENDING')).toMatchObject({
          status_reason: 'awaiting_async_payment',
        });
      }
      await expectStillWaiting(started, 'PENDING');
      expect(await pendingBalances()).toEqual(before);
      const session = await stack.sandbox.stripe.checkout.sessions.retrieve(started.sessionId);
      await stack.sandbox.admin(
        'POST',
        `/v1/sandbox/payment_intents/${String(session.payment_intent)}/settle`,
        {
          outcome: 'succeed',
        },
      );
      await expectPaid(started, before, ['NOT_STARTED', 'EXECUTING', 'PENDING', 'SUCCESS']);
      await page.context().close();
    });

    it('a payment in review that the PSP refuses later: PENDING, then FAILED with no entry', async () => {
      const before = await pendingBalances();
      const started = await startCheckout();
      const page = await openPage(started.redirectUrl);
      await typeCard(page, '4000 0000 0000 9235');
      await expectBackAtShop(page, started, 'succeeded');
      for (const id of started.orderIds) await stack.waitForStatus(id, 'PENDING');
      const session = await stack.sandbox.stripe.checkout.sessions.retrieve(started.sessionId);
      await stack.sandbox.admin(
        'POST',
        `/v1/sandbox/payment_intents/${String(session.payment_intent)}/settle`,
        {
          outcome: 'fail',
        },
      );
      await expectNotPaid(started, before, 'async_payment_failed');
      await page.context().close();
    });

    it('a card that is disputed after paying: the orders stay SUCCESS with one entry each; the dispute event is stored once, handled by the disputes module, and moves no order status', async () => {
      const started = await startCheckout();
      const page = await openPage(started.redirectUrl);
      await typeCard(page, '4000 0000 0000 0259');
      await expectBackAtShop(page, started, 'succeeded');
      // Not expectPaid: the dispute may already have taken the seller's share from pending (it is booked at once,
      // by its webhook or by the poller's discovery); the orders and their entries are checked below.
      for (const id of started.orderIds) await stack.waitForStatus(id, 'SUCCESS');
      const session = await stack.sandbox.stripe.checkout.sessions.retrieve(started.sessionId);
      const dispute = await waitFor(
        async () => {
          const rows = await stack.db.pool.query<{ event_id: string; outcome: string | null }>(
            `SELECT event_id, outcome FROM payins.psp_events
           WHERE event_type = 'charge.dispute.created' AND payload->'object'->>'payment_intent' = $1
             AND processed_at IS NOT NULL`,
            [String(session.payment_intent)],
          );
          return rows.rows.length > 0 ? rows.rows : undefined;
        },
        15_000,
        'the dispute webhook to be stored and processed',
      );
      expect(dispute).toHaveLength(1);
      expect(dispute[0]?.outcome).not.toMatch(/^ignored/);
      for (const id of started.orderIds) {
        expect((await stack.order(id)).status).toBe('SUCCESS');
        expect(await stack.successEntries(id)).toBe(1);
      }
      await page.context().close();
    });
  },
);
