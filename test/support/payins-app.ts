import type { Clock } from '../../src/clock.ts';
import type { ComposeOverrides } from '../../src/compose.ts';
import { createTestApp, type TestApp } from './app.ts';
import { bearer, savedMethodBody, uid } from './payins.ts';

/**
 * The real HTTP app with the pay-in routes only, on a fresh database, for tests that should not depend on
 * other modules' routes. The overrides (PSP, risk, delays) go to the composition root that builds the modules.
 */
export async function createPayinsTestApp(
  overrides: ComposeOverrides = {},
  options: { clock?: Clock; poolSize?: number } = {},
): Promise<TestApp> {
  return await createTestApp({
    ...options,
    poolSize: options.poolSize ?? 20,
    routes: (modules) => [modules.payins.routes],
    overrides,
  });
}

/**
 * POSTs a saved-method checkout of one order per seller given (a fresh Idempotency-Key) and returns its order ids;
 * throws unless it was created (201). The orders are queued for the executor, not yet claimed.
 */
export async function postSavedMethodCheckout(
  t: TestApp,
  sellers: string[],
  amount: string,
): Promise<string[]> {
  const body = savedMethodBody(sellers, { amount });
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: body,
  });
  if (response.statusCode !== 201)
    throw new Error(`checkout not created: ${response.statusCode} ${response.body}`);
  return body.payment_orders.map((order) => String(order.payment_order_id));
}
