import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Pool } from '../../db/pool.ts';
import { withTransaction } from '../../db/tx.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { settlePayout, type SettlementResult } from '../settle.ts';
import { getPayout } from '../store.ts';
import type { Payout } from '../types.ts';

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
 * Why an event contradicts the payout it names, or undefined when it may be applied. The provider only ever
 * reports on payouts it was handed, once each: a `payout.paid` for a payout never sent, a second return, or an
 * event about a payout another provider carries (a pain.001 file, say) can only be a fault or a forgery, and
 * applying it would pay a seller twice or book money that never left.
 */
export function contradiction(payout: Payout, event: SandboxPayoutEvent): string | undefined {
  if (payout.provider !== 'sandbox') return `the payout is carried by ${payout.provider}, not the sandbox`;
  if (event.type === 'payout.paid') {
    if (payout.status === 'pending') return 'paid before it was sent';
    if (payout.status === 'returned') return 'paid after it was returned';
    return undefined;
  }
  if (payout.status === 'pending') return 'returned before it was sent';
  if (payout.status === 'returned') return 'returned twice';
  return undefined;
}

export type SandboxEventResult = SettlementResult | { refused: string };

/**
 * Stores the event once and settles its payout in the same transaction, so an event is acted on exactly once
 * however often it is delivered. Returns undefined for a duplicate. An event that contradicts the payout's state
 * (see `contradiction`) is kept unprocessed in payouts.provider_events (`processed_at` null) as evidence, logged
 * at warn, and refused with `payout_event_refused`; it is never applied. (Reconciliation's exception queue is not
 * reachable from here through a public function; the kept row and the log line are what finance sees.)
 */
export async function processSandboxPayoutEvent(
  pool: Pool,
  event: SandboxPayoutEvent,
  log?: Logger,
): Promise<SettlementResult | undefined> {
  const result = await withTransaction(pool, async (client): Promise<SandboxEventResult | undefined> => {
    const payout = await getPayout(client, event.data.external_id, { forUpdate: true });
    if (!payout) throw new AppError('payout_not_found', `no payout ${event.data.external_id}`);
    const why = contradiction(payout, event);
    const stored = await client.query(
      `INSERT INTO payouts.provider_events (event_id, provider, type, payout_id, payload, processed_at)
       VALUES ($1, 'sandbox', $2, $3, $4, CASE WHEN $5::boolean THEN now() END) ON CONFLICT (event_id) DO NOTHING`,
      [event.id, event.type, event.data.external_id, JSON.stringify(event), why === undefined],
    );
    if (stored.rowCount !== 1) {
      // Delivered before: a duplicate, unless it was refused then (kept unprocessed), which it still is.
      const earlier = await client.query<{ processed: boolean }>(
        'SELECT processed_at IS NOT NULL AS processed FROM payouts.provider_events WHERE event_id = $1',
        [event.id],
      );
      return earlier.rows[0]?.processed === false ? { refused: 'refused at its first delivery' } : undefined;
    }
    if (why !== undefined) return { refused: why };
    return await settlePayout(client, event.data.external_id, {
      kind: event.type === 'payout.paid' ? 'paid' : 'returned',
      ...(event.data.reason === undefined ? {} : { reason: event.data.reason }),
      source: 'sandbox_webhook',
      reference: event.id,
    });
  });
  if (result !== undefined && 'refused' in result) {
    log?.warn(
      {
        eventId: event.id,
        eventType: event.type,
        payoutId: event.data.external_id,
        why: result.refused,
      },
      'payout event refused: it contradicts the payout; kept unprocessed, not applied',
    );
    throw new AppError(
      'payout_event_refused',
      `${event.type} for ${event.data.external_id} refused: ${result.refused}`,
    );
  }
  return result;
}
