// `npm run screenshots`: starts Bursar (embedded PostgreSQL and the sandbox PSP, in a temporary data directory, on
// free ports), seeds sellers and payments through the API, creates an admin operator with the CLI, signs in to the
// dashboard in Debian's chromium and saves a PNG of each main page in docs/dashboard/. Stops everything at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs', 'dashboard');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function startBursar(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; key: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/bursar.mjs'), 'start'], { env, cwd: ROOT });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Bursar did not start:\n${output}`)), 120_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const key = /API key:\s+(\S+)/.exec(output)?.[1];
      if (output.includes('Press Ctrl-C to stop.') && key !== undefined) {
        clearTimeout(timer);
        resolve({ child, key });
      }
    });
    child.once('exit', (code) => reject(new Error(`Bursar exited with ${code}:\n${output}`)));
  });
}

async function call(
  base: string,
  key: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'idempotency-key': `shot-${method}-${url}-${JSON.stringify(body ?? {}).length}-${Math.random()}`,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as unknown;
}

async function seed(base: string, key: string): Promise<string> {
  for (const [id, name] of [
    ['acme', 'Acme Tools'],
    ['bolt', 'Bolt Bikes'],
  ]) {
    await call(base, key, 'POST', '/v1/sellers', { seller_account: id, name, currency: 'USD' });
  }
  const cards = ['pm_card_visa', 'pm_card_visa', 'pm_card_visa', 'pm_card_chargeDeclined', 'pm_card_visa'];
  for (const [i, card] of cards.entries()) {
    await call(base, key, 'POST', '/v1/payments', {
      checkout_id: `shot-${i}`,
      buyer_info: { id: `buyer-${i % 2}`, email: 'ada@example.com', country: 'US' },
      credit_card_info: { payment_method: card },
      payment_orders: [
        {
          payment_order_id: `shot-${i}-acme`,
          seller_account: 'acme',
          amount: `${20 + i}.00`,
          currency: 'USD',
        },
        { payment_order_id: `shot-${i}-bolt`, seller_account: 'bolt', amount: '14.50', currency: 'USD' },
      ],
    });
  }
  // Wait for the worker to settle the orders.
  for (let attempt = 0; attempt < 60; attempt++) {
    const order = (await call(base, key, 'GET', '/v1/payments/shot-4-acme')) as { status?: string };
    if (order.status === 'SUCCESS') break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return 'shot-0-acme';
}

async function shoot(page: Page, base: string, route: string, name: string, ready: string): Promise<void> {
  await page.goto(`${base}/dashboard${route}`);
  try {
    await page.getByText(ready, { exact: false }).first().waitFor({ timeout: 15_000 });
  } catch (error) {
    const text = await page.locator('body').innerText();
    throw new Error(`${route}: "${ready}" never showed; the page said:\n${text.slice(0, 2000)}`, {
      cause: error,
    });
  }
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: false });
  process.stdout.write(`saved docs/dashboard/${name}.png\n`);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bursar-shots-'));
  const env = {
    ...process.env,
    BURSAR_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    SANDBOX_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  };
  const base = `http://127.0.0.1:${env.PORT}`;
  const { child, key } = await startBursar(env);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const paymentId = await seed(base, key);
    const created = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'bin/bursar.mjs'),
        'operators',
        'create',
        '--email',
        'admin@example.com',
        '--role',
        'admin',
      ],
      { env, encoding: 'utf8' },
    );
    const password = /password: (\S+)/.exec(created.stdout)?.[1];
    if (password === undefined)
      throw new Error(`operators create failed: ${created.stdout}${created.stderr}`);
    mkdirSync(OUT, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${base}/dashboard`);
    await page.getByLabel('Email').fill('admin@example.com');
    await page.locator('input[type=password]').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('whoami').waitFor({ timeout: 15_000 });
    await shoot(page, base, '/', 'home', 'Volume per day');
    await shoot(page, base, '/payments', 'payments', 'shot-4-acme');
    await shoot(page, base, `/payments/${paymentId}`, 'payment', 'Ledger entries');
    await shoot(page, base, '/sellers/acme', 'seller', 'Wallet');
    await shoot(page, base, '/payouts', 'payouts', 'Payout reconciliation');
    await shoot(page, base, '/reconciliation', 'reconciliation', 'Exceptions');
    await shoot(page, base, '/dead-letters', 'dead-letters', 'Dead letters');
    await shoot(page, base, '/audit', 'audit', 'Audit log');
    await shoot(page, base, '/admin', 'admin', 'API keys');
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
