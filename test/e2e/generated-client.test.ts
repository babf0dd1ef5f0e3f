import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { savedMethodBody, uid } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';

/**
 * The OpenAPI document is usable by a maintained generator: a TypeScript client is generated from /openapi.json
 * (openapi-typescript) at test time, a driver written against it is type-checked (tsc --strict) and then run
 * (openapi-fetch), taking a checkout, a refund and a seller statement through the real HTTP API and sandbox PSP.
 */

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
let stack: PayinsStack;
let dir: string;

beforeAll(async () => {
  stack = await startPayinsStack({ compose: { refunds: { tickIntervalMs: 100 } } });
  await stack.registerSellers(['gen_seller']);
  await stack.modules.refunds.worker.start();
  dir = fs.mkdtempSync(path.join(ROOT, 'test/e2e/generated-client/tmp-'));
}, 120_000);

afterAll(async () => {
  await stack?.modules.refunds.worker.stop();
  await stack?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a client generated from /openapi.json', () => {
  it('type-checks against the document and drives a checkout, a refund and a statement', async () => {
    const doc = (await (await fetch(`${stack.baseUrl}/openapi.json`)).json()) as Record<string, unknown>;
    const ast = await openapiTS(doc as unknown as OpenAPI3);
    fs.writeFileSync(path.join(dir, 'api.ts'), astToString(ast));
    fs.copyFileSync(path.join(ROOT, 'test/e2e/generated-client/drive.ts.txt'), path.join(dir, 'drive.ts'));
    const tsc = path.join(ROOT, 'node_modules/.bin/tsc');
    // --skipLibCheck as in tsconfig.json: the generated client and the driver (.ts) are checked in full; only the
    // declaration files of node_modules (@types/node…) are not checked again, which was most of the time.
    const flags = [
      '--noEmit',
      '--strict',
      '--noUncheckedIndexedAccess',
      '--target',
      'es2022',
      '--skipLibCheck',
    ];
    const moduleFlags = [
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--allowImportingTsExtensions',
    ];
    const checked = await run(
      tsc,
      [...flags, ...moduleFlags, '--types', 'node', path.join(dir, 'drive.ts')],
      {
        cwd: ROOT,
      },
    ).catch((error: { stdout?: string }) => ({ stdout: `tsc failed:\n${error.stdout ?? String(error)}` }));
    expect(checked.stdout).toBe('');

    const body = savedMethodBody(['gen_seller'], { amount: '10.00', checkoutId: uid('gen') });
    const driven = await run(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(dir, 'drive.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        BURSAR_URL: stack.baseUrl,
        BURSAR_KEY: stack.key,
        CHECKOUT_BODY: JSON.stringify(body),
      },
    });
    const out = JSON.parse(driven.stdout) as {
      checkout: { checkout_id: string };
      status: string;
      refund: { amount: string; status: string };
      statement: { seller_account?: string; movements?: unknown[] };
    };
    expect(out.checkout.checkout_id).toBe(body.checkout_id);
    expect(out.status).toBe('SUCCESS');
    expect(out.refund).toMatchObject({ amount: '2.50' });
    expect(out.statement.movements?.length).toBeGreaterThan(0);
  }, 400_000);
});
