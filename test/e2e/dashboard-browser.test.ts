import { randomBytes } from 'node:crypto';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/events/index.ts';
import { insertDeadLetter } from '../../src/jobs/dead-letters.ts';
import { createOperator } from '../../src/operators/index.ts';
import { EXECUTE_QUEUE } from '../../src/payins/index.ts';
import { chromiumUnavailableReason, launchChromium, type LaunchedBrowser } from '../support/chromium.ts';
import { savedMethodBody, uid } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';
import { writeReport } from '../support/recon.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

/**
 * The operations dashboard as operators use it, in Debian's chromium over a running Bursar with the sandbox PSP:
 * sign in, follow a payment, work the reconciliation queue, replay a dead letter — and the refusals: a viewer's
 * writes (in the UI and at the route), a write without the CSRF token, and repeated wrong passwords.
 */
const skipReason = chromiumUnavailableReason();
if (skipReason !== undefined) console.warn(`skipping dashboard browser tests: ${skipReason}`);

process.env.BURSAR_WEBHOOK_ENDPOINTS_KEY ??= randomBytes(32).toString('hex');

const PASSWORD = 'a long dashboard password';
const SELLERS = ['db_alpha', 'db_beta'];

let stack: PayinsStack;
let chrome: LaunchedBrowser;
let paidOrder = '';

async function signedIn(email: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chrome.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${stack.baseUrl}/dashboard`);
  await page.getByLabel('Email').fill(email);
  await page.locator('input[type=password]').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
  return { context, page };
}

/** Waits for `locator` to show; on a timeout, fails with what the page said instead. */
async function shows(page: Page, locator: Locator, what: string): Promise<void> {
  try {
    await locator.first().waitFor({ timeout: 15_000 });
  } catch (error) {
    const text = (await page.locator('body').innerText()).slice(0, 1500);
    throw new Error(`${what} never showed at ${page.url()}; the page said:\n${text}`, { cause: error });
  }
}

/** Reloads the page until `locator` shows (a background worker finishing), failing with what the page said. */
async function showsAfterReloads(page: Page, locator: Locator, what: string, tries = 20): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await locator.first().waitFor({ timeout: 3_000 });
      return;
    } catch (error) {
      if (attempt >= tries) {
        const text = (await page.locator('body').innerText()).slice(0, 1500);
        throw new Error(`${what} never showed at ${page.url()}; the page said:\n${text}`, { cause: error });
      }
      await page.reload();
    }
  }
}

/** An exception report with `count` charges Bursar has no order for, run through reconciliation. */
const REPORT_DAY = '2026-01-15';

async function runWithUnknownCharges(count: number): Promise<string> {
  const report = writeReport(
    Array.from({ length: count }, (_, i) => ({
      txn: uid(`txn_dash${i}`),
      category: 'charge',
      currency: 'USD',
      grossMinor: 100n + BigInt(i),
      feeMinor: 3n,
      sourceId: uid(`ch_dash${i}`),
      created: new Date(`${REPORT_DAY}T12:00:00Z`),
      metadata: { payment_order_id: uid('unknown') },
    })),
  );
  // A past day's report: the run covers that day alone, so the payments these tests make today stay out of it.
  const run = await stack.post('/v1/reconciliation/runs', {
    source: 'psp',
    content: report,
    date: REPORT_DAY,
  });
  expect(run.status).toBe(201);
  return String(run.json.id);
}

/** Sends every event delivery due now, as the worker's sender would. */
async function drainEvents(): Promise<void> {
  while ((await stack.modules.events.sendDue()).claimed > 0);
}

/** A write from the page's own JavaScript, as a script injected into the dashboard could make it. */
async function fetchFromPage(
  page: Page,
  path: string,
  withCsrf: boolean,
): Promise<{ status: number; code: string }> {
  const csrf = (await page.context().cookies()).find((cookie) => cookie.name === 'bursar_csrf')?.value;
  return await page.evaluate(
    async ({ path, withCsrf, csrf }) => {
      const response = await fetch(path, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': crypto.randomUUID(),
          ...(withCsrf && csrf ? { 'x-csrf-token': csrf } : {}),
        },
        body: '{}',
      });
      const body = (await response.json()) as { error?: { code?: string } };
      return { status: response.status, code: body.error?.code ?? '' };
    },
    { path, withCsrf, csrf },
  );
}

describe.skipIf(skipReason !== undefined)(
  'the operations dashboard in chromium',
  // The machine running the suite may be loaded: a test's whole walk through pages gets minutes, each wait its own.
  { timeout: 300_000 },
  () => {
    beforeAll(async () => {
      [stack, chrome] = await Promise.all([
        startPayinsStack({
          sandbox: { refundDelayMs: 200 },
          compose: {
            refunds: { tickIntervalMs: 100, leaseMs: 3_000, pollAfterMs: 2_000 },
            // The test's webhook receiver listens on 127.0.0.1.
            events: { allowPrivateUrls: true },
          },
        }),
        launchChromium(),
      ]);
      await stack.registerSellers(SELLERS);
      await stack.modules.refunds.worker.start();
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        await createOperator(stack.ctx.pool, {
          email: `${role}@example.com`,
          role,
          password: PASSWORD,
          actor: 'test',
        });
      }
      const body = savedMethodBody(SELLERS, { amount: '40.00' });
      const answer = await stack.pay(body, uid('idem'));
      expect(answer.status).toBe(201);
      paidOrder = String(body.payment_orders[0]?.payment_order_id);
      await stack.waitForStatus(paidOrder, 'SUCCESS');
    });

    afterAll(async () => {
      await stack?.modules.refunds.worker.stop();
      await chrome?.close();
      await stack?.close();
    });

    it('signs an operator in and follows a payment to its status history and ledger entry', async () => {
      const { context, page } = await signedIn('operator@example.com');
      try {
        await page.getByRole('link', { name: 'Payments' }).click();
        await page.getByLabel('Payment order').fill(paidOrder);
        await page.getByRole('button', { name: 'Search' }).click();
        await shows(page, page.getByRole('heading', { name: `Payment ${paidOrder}` }), 'the payment page');
        await shows(page, page.getByText('→ SUCCESS'), 'the status history');
        const entry = page.getByTestId('ledger-entry').filter({ hasText: 'payin.succeeded' });
        await shows(page, entry, 'the pay-in ledger entry');
        expect(await entry.innerText()).toContain(`seller:${SELLERS[0]}:pending:USD`);
      } finally {
        await context.close();
      }
    });

    it('resolves a reconciliation exception with a note, and the audit log shows who did it', async () => {
      const report = writeReport([
        {
          txn: uid('txn_dash'),
          category: 'charge',
          currency: 'USD',
          grossMinor: 777n,
          feeMinor: 30n,
          sourceId: uid('ch_dash'),
          created: new Date(),
          metadata: { payment_order_id: uid('unknown') },
        },
      ]);
      const run = await stack.post('/v1/reconciliation/runs', { source: 'psp', content: report });
      expect(run.status).toBe(201);
      const { context, page } = await signedIn('operator@example.com');
      try {
        await page.goto(`${stack.baseUrl}/dashboard/reconciliation?status=open`);
        const row = page.getByRole('table', { name: 'Exceptions' }).locator('tbody tr').first();
        await row.waitFor();
        const exceptionId = await row.getAttribute('data-row-id');
        await row.locator('td').nth(1).click();
        await page.getByRole('heading', { name: `Exception ${exceptionId}` }).waitFor();
        await page.getByLabel('Note').fill('checked with the PSP: a test charge');
        await page.getByRole('button', { name: 'Resolve' }).click();
        await page.getByText('resolved by', { exact: false }).waitFor();
        await page.goto(`${stack.baseUrl}/dashboard/audit`);
        const audit = page.getByRole('table', { name: 'Audit log' });
        await audit.getByText('POST /v1/reconciliation/exceptions/:id/resolve').first().waitFor();
        expect(await audit.innerText()).toContain(String(exceptionId));
      } finally {
        await context.close();
      }
    });

    it('finds a payment by seller and status, opens it from the list, refunds part of it and shows the refund with its ledger entry', async () => {
      const { context, page } = await signedIn('operator@example.com');
      try {
        await page.getByRole('link', { name: 'Payments' }).click();
        await page.getByLabel('Seller').fill(SELLERS[0] ?? '');
        await page.locator('input').and(page.getByLabel('Status')).click();
        await page.getByRole('option', { name: 'SUCCESS' }).click();
        await page.getByRole('button', { name: 'Search' }).click();
        const row = page.getByRole('table', { name: 'Payments' }).locator(`tr[data-row-id="${paidOrder}"]`);
        await shows(page, row, 'the payment in the filtered list');
        await row.click();
        await shows(page, page.getByRole('heading', { name: `Payment ${paidOrder}` }), 'the payment page');
        await page.getByRole('button', { name: 'Refund…' }).click();
        await page.getByLabel('Amount (USD)').fill('15.00');
        await page.getByRole('button', { name: 'Confirm refund' }).click();
        const refund = page.getByTestId('refund').filter({ hasText: '15.00' });
        await shows(page, refund, 'the refund');
        const entry = page
          .getByTestId('ledger-entry')
          .filter({ has: page.getByText('refund', { exact: true }) });
        await showsAfterReloads(page, entry, 'the refund ledger entry');
        expect(await entry.first().innerText()).toContain('1500');
        const overview = await page.evaluate(async () => (await fetch('/dashboard/api/overview')).json());
        const refunds = (overview as { days: Array<{ refunds: number }> }).days.reduce(
          (n, d) => n + d.refunds,
          0,
        );
        expect(refunds).toBeGreaterThanOrEqual(1);
      } finally {
        await context.close();
      }
    });

    it('resolves and reopens an exception with notes, bulk-resolves a filtered selection, and the audit log shows before and after', async () => {
      const runId = await runWithUnknownCharges(3);
      const { context, page } = await signedIn('operator@example.com');
      try {
        await page.goto(
          `${stack.baseUrl}/dashboard/reconciliation?status=open&class=investigation&run_id=${runId}`,
        );
        const table = page.getByRole('table', { name: 'Exceptions' });
        const rows = table.locator('tbody tr');
        await shows(page, rows.nth(2), "the run's three exceptions");
        expect(await rows.count()).toBe(3);
        const firstId = String(await rows.first().getAttribute('data-row-id'));
        await rows.first().locator('td').nth(1).click();
        await shows(page, page.getByRole('heading', { name: `Exception ${firstId}` }), 'the exception page');
        await page.getByLabel('Note').fill('first look: a test charge');
        await page.getByRole('button', { name: 'Resolve' }).click();
        // The history's entries, not the note field (whose text the filled value also becomes).
        const history = page.locator('.mantine-Timeline-item');
        await shows(
          page,
          history.filter({ hasText: 'first look: a test charge' }),
          'the resolve note in the history',
        );
        // The page re-reads the exception and clears its form after the resolve: fill the next note only then.
        const note = page.getByLabel('Note', { exact: true });
        await expect
          .poll(
            async () => ({
              value: await note.inputValue(),
              body: (await page.locator('body').innerText()).slice(0, 3000),
            }),
            { timeout: 15_000 },
          )
          .toMatchObject({ value: '' });
        await page.getByRole('button', { name: 'Reopen', disabled: false }).waitFor();
        await page.getByLabel('Note').fill('reopened: needs the PSP statement');
        await page.getByRole('button', { name: 'Reopen' }).click();
        await shows(
          page,
          history.filter({ hasText: 'reopened: needs the PSP statement' }),
          'the reopen note in the history',
        );

        await page.goto(
          `${stack.baseUrl}/dashboard/reconciliation?status=open&class=investigation&run_id=${runId}`,
        );
        await shows(page, rows.nth(2), 'the three open exceptions again');
        await page.getByRole('button', { name: 'Select all shown' }).click();
        await page.getByLabel('Note for the selected exceptions').fill('bulk: test charges');
        await page.getByRole('button', { name: 'Resolve 3 selected' }).click();
        await shows(page, page.getByText('No exceptions.'), 'the emptied filtered queue');
        const resolved = await stack.get(`/v1/reconciliation/exceptions?status=resolved&run_id=${runId}`);
        expect((resolved.json.data as unknown[]).length).toBe(3);

        await page.goto(`${stack.baseUrl}/dashboard/audit`);
        await page.getByLabel('Target id').fill(firstId);
        await page.getByRole('button', { name: 'Filter' }).click();
        const audit = page.getByRole('table', { name: 'Audit log' });
        await shows(
          page,
          audit.getByText('POST /v1/reconciliation/exceptions/:id/reopen'),
          'the reopen in the audit log',
        );
        const reopen = audit.locator('tbody tr').filter({ hasText: '/reopen' }).first();
        const cells = reopen.locator('td');
        expect(await cells.nth(4).innerText()).toContain('"status": "resolved"');
        expect(await cells.nth(5).innerText()).toContain('"status": "open"');
        expect(await audit.locator('tbody tr').count()).toBe(3);
      } finally {
        await context.close();
      }
    });

    it('fits every page into laptop (1366x768) and tablet (820x1180) widths without horizontal scrolling', async () => {
      const pages = [
        '',
        '/payments',
        `/payments/${paidOrder}`,
        '/sellers',
        `/sellers/${SELLERS[0]}`,
        '/payouts',
        '/disputes',
        '/reconciliation',
        '/dead-letters',
        '/webhooks',
        '/audit',
        '/admin',
      ];
      for (const viewport of [
        { width: 1366, height: 768 },
        { width: 820, height: 1180 },
      ]) {
        const { context, page } = await signedIn('admin@example.com');
        try {
          await page.setViewportSize(viewport);
          for (const path of pages) {
            await page.goto(`${stack.baseUrl}/dashboard${path}`);
            await page.getByTestId('whoami').waitFor();
            await page
              .locator('main h2')
              .first()
              .waitFor()
              .catch((error: unknown) => {
                throw new Error(`${path} at ${viewport.width}px drew no heading: ${String(error)}`);
              });
            // Every request of the page answered (and the tables drawn): no request for half a second.
            await page.waitForLoadState('networkidle');
            const overflow = await page.evaluate(() => {
              const g = globalThis as unknown as {
                document: { documentElement: { scrollWidth: number } };
                innerWidth: number;
              };
              return g.document.documentElement.scrollWidth - g.innerWidth;
            });
            expect({ path, viewport, overflow }).toEqual({ path, viewport, overflow: 0 });
          }
        } finally {
          await context.close();
        }
      }
    });

    it('replays a dead letter once', async () => {
      const letter = await insertDeadLetter(stack.ctx.pool, {
        queue: EXECUTE_QUEUE,
        subject: paidOrder,
        payload: { paymentOrderId: paidOrder },
        reason: 'test: attempts ran out',
        attempts: 5,
      });
      const { context, page } = await signedIn('operator@example.com');
      try {
        await page.getByRole('link', { name: 'Dead letters' }).click();
        const row = page.locator(`tr[data-row-id="${letter.id}"]`);
        await row.getByRole('button', { name: 'Replay' }).click();
        await page.getByText(`Replayed ${letter.id}.`).waitFor();
        const after = await stack.get(`/v1/dead_letters/${letter.id}`);
        expect(after.json.replayed_at).not.toBeNull();
        // The order was final already: the replayed job finds nothing to do and the order stays SUCCESS.
        expect((await stack.order(paidOrder)).status).toBe('SUCCESS');
      } finally {
        await context.close();
      }
    });

    it("redelivers a webhook from the endpoint's deliveries, and the endpoint receives the event once more", async () => {
      const hook = await startReceiver();
      try {
        const created = await stack.post('/v1/webhook_endpoints', {
          url: hook.url,
          enabled_events: ['seller.flagged'],
          description: 'dashboard browser test',
        });
        expect(created.status).toBe(201);
        const eventId = await recordEvent(stack.ctx.pool, 'seller.flagged', { id: SELLERS[0] });
        const receivedOf = () => hook.received.filter((got) => got.body.includes(eventId)).length;
        await drainEvents();
        expect(receivedOf()).toBe(1);
        const { context, page } = await signedIn('operator@example.com');
        try {
          await page.getByRole('link', { name: 'Webhooks' }).click();
          const row = page.locator(`tr[data-event-id="${eventId}"]`);
          await shows(page, row, `the delivery of ${eventId}`);
          await row.getByRole('button', { name: 'Redeliver' }).click();
          await shows(page, page.getByText(`Event ${eventId} queued again`), 'the redelivery message');
          await drainEvents();
          expect(receivedOf()).toBe(2);
          // The page lists the new try beside the first once reloaded.
          await page.reload();
          await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(2);
        } finally {
          await context.close();
        }
      } finally {
        await hook.close();
      }
    });

    it('refuses a viewer every write, in the UI and at the route', async () => {
      const { context, page } = await signedIn('viewer@example.com');
      try {
        await page.goto(`${stack.baseUrl}/dashboard/payments/${paidOrder}`);
        await expect(page.getByRole('button', { name: 'Refund…' }).isDisabled()).resolves.toBe(true);
        const refused = await fetchFromPage(page, '/v1/sellers', true);
        expect(refused).toEqual({ status: 403, code: 'insufficient_scope' });
        const replay = await fetchFromPage(page, '/v1/dead_letters/dl_none/replay', true);
        expect(replay).toEqual({ status: 403, code: 'insufficient_scope' });
        const redeliver = await fetchFromPage(page, '/v1/events/evt_none/redeliver', true);
        expect(redeliver).toEqual({ status: 403, code: 'insufficient_scope' });
      } finally {
        await context.close();
      }
    });

    it('refuses a write without the CSRF token, even from a signed-in operator', async () => {
      const { context, page } = await signedIn('admin@example.com');
      try {
        const refused = await fetchFromPage(page, '/v1/dead_letters/dl_none/replay', false);
        expect(refused).toEqual({ status: 403, code: 'csrf_token_invalid' });
        const allowed = await fetchFromPage(page, '/v1/dead_letters/dl_none/replay', true);
        expect(allowed).toEqual({ status: 404, code: 'not_found' });
      } finally {
        await context.close();
      }
    });

    it('throttles repeated wrong passwords', async () => {
      const context = await chrome.browser.newContext();
      const page = await context.newPage();
      try {
        await page.goto(`${stack.baseUrl}/dashboard`);
        await page.getByLabel('Email').fill('admin@example.com');
        for (let attempt = 0; attempt < 6; attempt++) {
          await page.locator('input[type=password]').fill(`wrong password ${attempt}`);
          // Each attempt's own answer: the previous attempt's alert is still on the page, so waiting for the alert
          // alone does not tell that this attempt was answered.
          const answered = page.waitForResponse(
            (response) =>
              response.url().endsWith('/dashboard/api/session') && response.request().method() === 'POST',
          );
          await page.getByRole('button', { name: 'Sign in' }).click();
          await answered;
          await page.getByRole('alert').waitFor();
        }
        await page.getByText('Too many failed attempts').waitFor();
      } finally {
        await context.close();
      }
    });
  },
);
