import type { Queryable } from '../db/pool.ts';

/** A PSP webhook event about a payment, as the timeline shows it. */
export interface PspEventSummary {
  eventId: string;
  type: string;
  receivedAt: Date;
  processedAt: Date | null;
  outcome: string | null;
}

/** The PSP events whose object is one of `pspIds` (payment, session, charge) or about its payment, oldest first. */
export async function pspEventsAbout(db: Queryable, pspIds: string[]): Promise<PspEventSummary[]> {
  if (pspIds.length === 0) return [];
  const result = await db.query<{
    event_id: string;
    event_type: string;
    received_at: Date;
    processed_at: Date | null;
    outcome: string | null;
  }>(
    `SELECT event_id, event_type, received_at, processed_at, outcome FROM payins.psp_events
      WHERE (payload -> 'object' ->> 'id') = ANY($1::text[]) OR (payload -> 'object' ->> 'payment_intent') = ANY($1::text[])
      ORDER BY id LIMIT 200`,
    [pspIds],
  );
  return result.rows.map((row) => ({
    eventId: row.event_id,
    type: row.event_type,
    receivedAt: row.received_at,
    processedAt: row.processed_at,
    outcome: row.outcome,
  }));
}
