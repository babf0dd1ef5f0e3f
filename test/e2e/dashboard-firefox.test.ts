import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperator } from '../../src/operators/index.ts';
import { firefoxUnavailableReason, launchFirefox, type LaunchedFirefox } from '../support/firefox.ts';
import { savedMethodBody, uid } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';

/**
 * The operations dashboard in Debian's firefox-esr (WebDriver BiDi, real mouse and keyboard input), over a running
 * Bursar with the sandbox PSP: the same walk an operator makes in Chromium, and every page at laptop and tablet
 * widths. Chromium's fuller suite is test/e2e/dashboard-browser.test.ts.
 */
const skipReason = firefoxUnavailableReason();
if (skipReason !== undefined) console.warn(`skipping dashboard Firefox tests: ${skipReason}`);

const PASSWORD = 'a long dashboard password';
const SELLER = 'ff_alpha';

let stack: PayinsStack;
let firefox: LaunchedFirefox;
let paidOrder = '';

const js = (value: string) => JSON.stringify(value);

describe.skipIf(skipReason !== undefined)('the operations dashboard in firefox', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    [stack, firefox] = await Promise.all([
      startPayinsStack({
        sandbox: { refundDelayMs: 200 },
        compose: { refunds: { tickIntervalMs: 100, leaseMs: 3_000, pollAfterMs: 2_000 } },
      }),
      launchFirefox(),
    ]);
    await stack.registerSellers([SELLER]);
    await stack.modules.refunds.worker.start();
    await createOperator(stack.ctx.pool, {
      email: 'admin@example.com',
      role: 'admin',
      password: PASSWORD,
      actor: 'test',
    });
    const body = savedMethodBody([SELLER], { amount: '40.00' });
    expect((await stack.pay(body, uid('idem'))).status).toBe(201);
    paidOrder = String(body.payment_orders[0]?.payment_order_id);
    await stack.waitForStatus(paidOrder, 'SUCCESS');
  });

  afterAll(async () => {
    await stack?.modules.refunds.worker.stop();
    await firefox?.close();
    await stack?.close();
  });

  it('signs in, finds a payment, follows its timeline to the ledger entry and refunds part of it', async () => {
    const page = firefox.page;
    await page.setViewport(1280, 900);
    await page.goto(`${stack.baseUrl}/dashboard`);
    await page.type(`byLabel('Email')`, 'admin@example.com');
    await page.type(`document.querySelector('input[type=password]')`, PASSWORD);
    await page.click(`byText('button', 'Sign in')`);
    await page.waitFor(`document.querySelector('[data-testid=whoami]')`, 'the signed-in operator');

    await page.click(`byText('a', 'Payments')`);
    await page.type(`byLabel('Payment order')`, paidOrder);
    await page.click(`byText('button', 'Search')`);
    await page.waitFor(
      `[...document.querySelectorAll('h2')].some((h) => h.textContent.includes(${js(`Payment ${paidOrder}`)}))`,
      'the payment page',
    );
    await page.waitFor(`document.body.innerText.includes('→ SUCCESS')`, 'the status history');
    const entry = `[...document.querySelectorAll('[data-testid=ledger-entry]')].find((e) => e.innerText.includes('payin.succeeded'))`;
    await page.waitFor(entry, 'the pay-in ledger entry');
    expect(await page.evaluate<string>(`${entry}.innerText`)).toContain(`seller:${SELLER}:pending:USD`);

    await page.click(`byText('button', 'Refund…')`);
    await page.type(`byLabel('Amount (USD)')`, '15.00');
    await page.click(`byText('button', 'Confirm refund')`);
    await page.waitFor(
      `[...document.querySelectorAll('[data-testid=refund]')].some((e) => e.innerText.includes('15.00'))`,
      'the refund',
    );
    const refunds = await stack.get(`/v1/refunds?payment_order_id=${paidOrder}`);
    expect((refunds.json.data as Array<{ amount: string }>).map((r) => r.amount)).toEqual(['15.00']);
  });

  it('draws every page at laptop (1366x768) and tablet (820x1180) widths without horizontal scrolling', async () => {
    const page = firefox.page;
    const paths = [
      '',
      '/payments',
      `/payments/${paidOrder}`,
      '/sellers',
      `/sellers/${SELLER}`,
      '/payouts',
      '/disputes',
      '/reconciliation',
      '/dead-letters',
      '/webhooks',
      '/audit',
      '/admin',
    ];
    for (const [width, height] of [
      [1366, 768],
      [820, 1180],
    ] as const) {
      await page.setViewport(width, height);
      for (const path of paths) {
        await page.goto(`${stack.baseUrl}/dashboard${path}`);
        await page.waitFor(`document.querySelector('main h2')`, `${path} at ${width}px: a heading`);
        // Loaded, not failed: no "Could not load" and no visible spinner left (hidden tabs may keep theirs).
        await page.waitFor(
          `![...document.querySelectorAll('.mantine-Loader-root')].some((e) => e.offsetParent !== null) && !document.body.innerText.includes('Could not load')`,
          `${path} at ${width}px: its data`,
        );
        const overflow = await page.evaluate<number>(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        );
        expect({ path, width, overflow }).toEqual({ path, width, overflow: 0 });
      }
    }
  });
});
