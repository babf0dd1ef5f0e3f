import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Pool } from '../../db/pool.ts';
import { withTransaction } from '../../db/tx.ts';
import { AppError } from '../../errors.ts';
import { settlePayout, type SettlementResult } from '../settle.ts';

/** The sandbox payout provider's webhook event (docs/payouts.md). */
export interface SandboxPayoutEvent {
  id: string;
  type: 'payout.paid' | 'payout.returned';
  data: { external_id: string; transfer_id: string; reason?: string };
}

const TOLERANCE_SECONDS = 300;

/**
 * Verifies `Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` (the same scheme as Stripe's)
 * over the raw body, and that the timestamp is recent. Returns the parsed event or throws webhook_signature_invalid.
 */
export function verifySandboxPayoutEvent(
  raw: Buffer | string,
  header: string | undefined,
  secret: string,
  nowMs: number,
): SandboxPayoutEvent {
  const fail = (why: string): never => {
    throw new AppError('webhook_signature_invalid', `payout webhook refused: ${why}`);
  };
  if (header === undefined) return fail('no Sandbox-Signature header');
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = parts.get('t');
  const v1 = parts.get('v1');
  if (t === undefined || v1 === undefined || !/^\d{1,12}$/.test(t) || !/^[0-9a-f]{64}$/.test(v1))
    return fail('malformed signature');
  if (Math.abs(nowMs / 1000 - Number(t)) > TOLERANCE_SECONDS) return fail('signature too old');
  const body = typeof raw === 'string' ? raw : raw.toString('utf8');
  const expected = createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(v1, 'hex'))) return fail('signature does not match');
  let event: SandboxPayoutEvent;
  try {
    event = JSON.parse(body) as SandboxPayoutEvent;
  } catch {
    return fail('body is not JSON');
  }
  if (
    typeof event.id !== 'string' ||
    (event.type !== 'payout.paid' && event.type !== 'payout.returned') ||
    typeof event.data?.external_id !== 'string'
  ) {
    return fail('not a payout event');
  }
  return event;
}

/**
 * Stores the event once and settles its payout in the same transaction, so an event is acted on exactly once
 * however often it is delivered. Returns undefined for a duplicate.
 */
export async function processSandboxPayoutEvent(
  pool: Pool,
  event: SandboxPayoutEvent,
): Promise<SettlementResult | undefined> {
  return await withTransaction(pool, async (client) => {
    const stored = await client.query(
      `INSERT INTO payouts.provider_events (event_id, provider, type, payout_id, payload, processed_at)
       VALUES ($1, 'sandbox', $2, $3, $4, now()) ON CONFLICT (event_id) DO NOTHING`,
      [event.id, event.type, event.data.external_id, JSON.stringify(event)],
    );
    if (stored.rowCount !== 1) return undefined;
    return await settlePayout(client, event.data.external_id, {
      kind: event.type === 'payout.paid' ? 'paid' : 'returned',
      ...(event.data.reason === undefined ? {} : { reason: event.data.reason }),
      source: 'sandbox_webhook',
      reference: event.id,
    });
  });
}
