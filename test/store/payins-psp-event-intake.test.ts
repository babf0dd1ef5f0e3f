import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pspEventIntakeStats } from '../../src/payins/psp-event-intake.ts';
import { recordPspEvent } from '../../src/payins/psp-events.ts';
import type { PayinsRuntime } from '../../src/payins/runtime.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { uid } from '../support/payins.ts';

let t: TestApp;
let runtime: PayinsRuntime;

beforeAll(async () => {
  t = await createPayinsTestApp({ psp: new FakePsp(), payins: { claimPollMs: 60_000 } });
  runtime = t.modules.payins.runtime;
});

afterAll(async () => {
  await t.close();
});

/** An event pay-ins ignores (no order to move), so that only its storage is under test. */
function chargeEvent(eventId = uid('evt'), extra: Record<string, unknown> = {}) {
  return {
    id: eventId,
    type: 'charge.succeeded',
    createdAt: new Date(),
    object: { id: uid('ch'), object: 'charge', ...extra },
  };
}

async function storedRows(eventIds: string[]): Promise<Array<{ event_id: string; psp: string }>> {
  const rows = await t.db.pool.query<{ event_id: string; psp: string }>(
    'SELECT event_id, psp FROM payins.psp_events e WHERE event_id = ANY($1) ORDER BY e.id',
    [eventIds],
  );
  return rows.rows;
}

describe('the PSP-event intake (group commit of webhooks)', () => {
  it('stores events that arrive together in one statement, each once, committed when its caller is answered', async () => {
    const before = pspEventIntakeStats(runtime);
    const events = Array.from({ length: 40 }, () => chargeEvent());
    const answers = await Promise.all(events.map((event) => recordPspEvent(runtime, 'stripe', event)));
    expect(answers).toEqual(events.map(() => true));
    // Read on another connection: every answered event is committed, in the order the events arrived.
    const rows = await storedRows(events.map((event) => event.id));
    expect(rows.map((row) => row.event_id)).toEqual(events.map((event) => event.id));
    const after = pspEventIntakeStats(runtime);
    expect(after.events - before.events).toBe(40);
    expect(after.batches - before.batches).toBe(1);
    expect(after.largestBatch).toBeGreaterThanOrEqual(40);
  });

  it('answers the second delivery of an event in the same batch as a duplicate, and stores the event once', async () => {
    const event = chargeEvent();
    const answers = await Promise.all([
      recordPspEvent(runtime, 'stripe', event),
      recordPspEvent(runtime, 'stripe', { ...event }),
      recordPspEvent(runtime, 'stripe', chargeEvent()),
    ]);
    expect(answers).toEqual([true, false, true]);
    expect(await storedRows([event.id])).toHaveLength(1);
    expect(await recordPspEvent(runtime, 'stripe', event)).toBe(false);
  });

  it('keeps one event id of two PSPs apart', async () => {
    const id = uid('evt');
    const answers = await Promise.all([
      recordPspEvent(runtime, 'stripe', chargeEvent(id)),
      recordPspEvent(runtime, 'other', chargeEvent(id)),
    ]);
    expect(answers).toEqual([true, true]);
    expect(await storedRows([id])).toHaveLength(2);
  });

  it('fails only the event PostgreSQL refuses: the others of its batch are stored', async () => {
    const before = pspEventIntakeStats(runtime);
    const good = [chargeEvent(), chargeEvent(), chargeEvent()];
    // jsonb cannot hold U+0000: this event's insert fails, and with it the batch's statement.
    const bad = chargeEvent(uid('evt'), { description: 'nul \u0000 inside' });
    const outcomes = await Promise.allSettled([
      recordPspEvent(runtime, 'stripe', good[0] ?? chargeEvent()),
      recordPspEvent(runtime, 'stripe', bad),
      recordPspEvent(runtime, 'stripe', good[1] ?? chargeEvent()),
      recordPspEvent(runtime, 'stripe', good[2] ?? chargeEvent()),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value)).toEqual([true, true, true]);
    expect((await storedRows(good.map((event) => event.id))).length).toBe(3);
    expect(await storedRows([bad.id])).toHaveLength(0);
    expect(pspEventIntakeStats(runtime).fallbacks - before.fallbacks).toBe(1);
    // The intake goes on: the next event is stored.
    expect(await recordPspEvent(runtime, 'stripe', chargeEvent())).toBe(true);
  });

  it('answers a lone event PostgreSQL refuses with its error, and stores the next one', async () => {
    const before = pspEventIntakeStats(runtime);
    const bad = chargeEvent(uid('evt'), { description: 'nul \u0000 alone' });
    await expect(recordPspEvent(runtime, 'stripe', bad)).rejects.toThrow();
    expect(await storedRows([bad.id])).toHaveLength(0);
    expect(pspEventIntakeStats(runtime).fallbacks).toBe(before.fallbacks);
    expect(await recordPspEvent(runtime, 'stripe', chargeEvent())).toBe(true);
  });

  it('stores a batch larger than one statement takes, every event once', async () => {
    const events = Array.from({ length: 600 }, () => chargeEvent());
    const answers = await Promise.all(events.map((event) => recordPspEvent(runtime, 'stripe', event)));
    expect(answers.every((answer) => answer)).toBe(true);
    // Two statements run at once here, so the order is kept within each, not across them.
    const rows = await storedRows(events.map((event) => event.id));
    expect(rows.map((row) => row.event_id).sort()).toEqual(events.map((event) => event.id).sort());
  });
});
