import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumUnavailableReason, launchChromium, type LaunchedBrowser } from '../support/chromium.ts';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';

const skipReason = chromiumUnavailableReason();
if (skipReason !== undefined) console.warn(`skipping hosted-page browser tests: ${skipReason}`);

let sandbox: TestSandbox;
let chrome: LaunchedBrowser;
let shop: http.Server;
let shopUrl: string;

describe.skipIf(skipReason !== undefined)('the hosted payment page in a real browser (chromium)', () => {
  beforeAll(async () => {
    sandbox = await startTestSandbox();
    chrome = await launchChromium();
    // The marketplace's return pages: they just say where the buyer landed.
    shop = http.createServer((request, response) => {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<h1>Back at the shop: ${request.url ?? ''}</h1>`);
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await chrome?.close();
    shop?.closeAllConnections();
    await new Promise<void>((resolve) => (shop ? shop.close(() => resolve()) : resolve()));
    await sandbox?.stop();
  });

  async function openSession(reference: string): Promise<{ id: string; url: string; page: Page }> {
    const session = await sandbox.stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 4999, product_data: { name: 'Kettle' } }, quantity: 1 },
      ],
      success_url: `${shopUrl}/success?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${shopUrl}/cancel?session_id={CHECKOUT_SESSION_ID}`,
      client_reference_id: reference,
    });
    const context = await chrome.browser.newContext();
    const page = await context.newPage();
    await page.goto(session.url ?? '');
    return { id: session.id, url: session.url ?? '', page };
  }

  async function fillCard(page: Page, number: string): Promise<void> {
    await page.getByLabel('Card number').fill(number);
    await page.getByLabel('Expiry').fill('12 / 34');
    await page.getByLabel('CVC').fill('123');
    await page.getByLabel('Name on card').fill('Ada Buyer');
    await page.getByRole('button', { name: 'Pay', exact: true }).click();
  }

  it('a good card pays and the buyer lands on success_url with the session id', async () => {
    const { id, page } = await openSession('browser-ok');
    await fillCard(page, '4242 4242 4242 4242');
    await page.waitForURL(`${shopUrl}/success?session_id=${id}`);
    const session = await sandbox.stripe.checkout.sessions.retrieve(id);
    expect(session.payment_status).toBe('paid');
    await page.context().close();
  });

  it('a declined card shows the reason on the page and the buyer can cancel back to cancel_url', async () => {
    const { id, page } = await openSession('browser-decline');
    await fillCard(page, '4000 0000 0000 0002');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Your card was declined.');
    expect((await sandbox.stripe.checkout.sessions.retrieve(id)).status).toBe('open');
    await page.getByRole('link', { name: 'Cancel and return' }).click();
    await page.waitForURL(`${shopUrl}/cancel?session_id=${id}`);
    await page.context().close();
  });

  it('3-D Secure: approving the challenge pays', async () => {
    const { id, page } = await openSession('browser-3ds-ok');
    await fillCard(page, '4000 0027 6000 3184');
    await page.getByRole('button', { name: 'Complete authentication' }).click();
    await page.waitForURL(`${shopUrl}/success?session_id=${id}`);
    expect((await sandbox.stripe.checkout.sessions.retrieve(id)).payment_status).toBe('paid');
    await page.context().close();
  });

  it('3-D Secure: failing the challenge does not pay and says so', async () => {
    const { id, page } = await openSession('browser-3ds-fail');
    await fillCard(page, '4000 0027 6000 3184');
    await page.getByRole('button', { name: 'Fail authentication' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('unable to authenticate');
    const session = await sandbox.stripe.checkout.sessions.retrieve(id, { expand: ['payment_intent'] });
    expect(session.payment_status).toBe('unpaid');
    await page.context().close();
  });

  it('a payment in review returns the buyer at once and settles later', async () => {
    const { id, page } = await openSession('browser-review');
    await fillCard(page, '4000 0000 0000 9235');
    await page.waitForURL(`${shopUrl}/success?session_id=${id}`);
    const pending = await sandbox.stripe.checkout.sessions.retrieve(id);
    expect(pending.status).toBe('complete');
    expect(pending.payment_status).toBe('unpaid');
    await sandbox.admin('POST', `/v1/sandbox/payment_intents/${String(pending.payment_intent)}/settle`, {
      outcome: 'succeed',
    });
    expect((await sandbox.stripe.checkout.sessions.retrieve(id)).payment_status).toBe('paid');
    await page.context().close();
  });
});
