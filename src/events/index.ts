import type { Queryable } from '../db/pool.ts';

/**
 * The events a marketplace hears of (outgoing webhooks): recorded once, in the transaction that made the state
 * change, so an event exists exactly when its change committed. `type` is dotted (`refund.succeeded`) and `object`
 * is the resource as it is after the change, in its wire shape.
 *
 * Today the message goes to the pay-in outbox that the worker delivers to BURSAR_WEBHOOK_URL.
 */
export async function recordEvent(
  db: Queryable,
  type: string,
  object: Record<string, unknown>,
): Promise<void> {
  await db.query('INSERT INTO payins.outbox (topic, payload) VALUES ($1, $2)', [
    type,
    JSON.stringify(object),
  ]);
}
