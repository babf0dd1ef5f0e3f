import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLAY_HOOKS } from '../../src/cli/dlq.ts';
import { listDeadLetters, replayDeadLetter } from '../../src/jobs/dead-letters.ts';
import { PSP_EVENT_MAX_ATTEMPTS } from '../../src/payins/event-failures.ts';
import { loopGuard } from '../../src/jobs/loops.ts';
import { claimOrders, executeOrder } from '../../src/payins/executor.ts';
import { claimPspEventBatch } from '../../src/payins/psp-event-batch.ts';
import type { PspEventHandlers } from '../../src/payins/ports.ts';
import { PspEventLoop } from '../../src/payins/psp-event-loop.ts';
import {
  processPendingEvents,
  processPspEventRecordingFailure,
  recordPspEvent,
} from '../../src/payins/psp-events.ts';
import { PSP_EVENT_QUEUE, type PayinsRuntime } from '../../src/payins/runtime.ts';
import { getOrder } from '../../src/payins/store.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { NO_JOBS } from '../support/jobs.ts';

let t: TestApp;
let runtime: PayinsRuntime;

beforeAll(async () => {
  // A long poll: a loop that reacts within seconds was woken by the insert's notification.
  // Events are processed at once here; the deferral of events about orders being charged has its own tests.
  t = await createPayinsTestApp({
    psp: new FakePsp(),
    payins: { claimPollMs: 60_000, pspEventDeferMs: 0 },
  });
  runtime = t.modules.payins.runtime;
  await registerSellers(t.db.pool, ['s_one']);
});

afterAll(async () => {
  await t.close();
});

async function newOrder(): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: savedMethodBody(['s_one']),
  });
  expect(response.statusCode).toBe(201);
  const id = (response.json() as { payment_orders: Array<{ payment_order_id: string }> }).payment_orders[0]
    ?.payment_order_id;
  if (id === undefined) throw new Error('no order');
  return id;
}

/** An order the executor settled (SUCCESS, booked). */
async function settledOrder(): Promise<string> {
  const id = await newOrder();
  expect(await executeOrder(runtime, id)).toMatchObject({ status: 'SUCCESS' });
  return id;
}

/** An order claimed for execution (EXECUTING) whose PSP answer has not been recorded: a webhook settles it. */
async function executingOrder(): Promise<string> {
  const id = await newOrder();
  const claims = await claimOrders(runtime, [id]);
  expect(claims.get(id)).not.toBeInstanceOf(Error);
  return id;
}

function succeeded(orderId: string, eventId = uid('evt')) {
  return {
    id: eventId,
    type: 'payment_intent.succeeded',
    createdAt: new Date(),
    object: { id: uid('pi'), object: 'payment_intent', metadata: { payment_order_id: orderId } },
  };
}

function ignored(eventId = uid('evt')) {
  return { id: eventId, type: 'charge.succeeded', createdAt: new Date(), object: { id: uid('ch') } };
}

function payoutPaid(eventId = uid('evt')) {
  return { id: eventId, type: 'payout.paid', createdAt: new Date(), object: { id: uid('po') } };
}

interface EventState {
  processed: boolean;
  attempts: number;
  outcome: string | null;
  dead: boolean;
  retryInMinutes: number | null;
}

async function stateOf(eventId: string): Promise<EventState> {
  const row = await t.db.pool.query<EventState>(
    `SELECT processed_at IS NOT NULL AS processed, attempts, outcome, dead_lettered_at IS NOT NULL AS dead,
            round(extract(epoch FROM next_attempt_at - now()) / 60)::int AS "retryInMinutes"
       FROM payins.psp_events WHERE event_id = $1`,
    [eventId],
  );
  const state = row.rows[0];
  if (state === undefined) throw new Error(`no event ${eventId}`);
  return state;
}

async function unprocessed(eventIds: string[]): Promise<number> {
  const row = await t.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM payins.psp_events WHERE event_id = ANY($1) AND processed_at IS NULL',
    [eventIds],
  );
  return row.rows[0]?.n ?? -1;
}

async function entriesFor(orderId: string): Promise<number> {
  const result = await t.db.pool.query('SELECT 1 FROM ledger.entries WHERE reference = $1', [
    `payin:${orderId}:succeeded`,
  ]);
  return result.rowCount ?? 0;
}

/** Runs a worker's PSP event loop (and then `meanwhile`) until `done`, then stops it. */
async function withLoop(
  done: () => Promise<boolean>,
  what: string,
  meanwhile: () => Promise<void> = async () => undefined,
): Promise<void> {
  const loop = new PspEventLoop(runtime, { batch: 50 });
  await loop.start();
  try {
    await meanwhile();
    await waitFor(async () => ((await done()) ? true : undefined), 30_000, what);
  } finally {
    await loop.stop();
    await loop.flush();
  }
}

/** Makes an event due again now (its retry delay or lease over). */
async function dueNow(eventId: string): Promise<void> {
  await t.db.pool.query('UPDATE payins.psp_events SET next_attempt_at = now() WHERE event_id = $1', [
    eventId,
  ]);
}

describe('PSP events in batches', () => {
  it('one poison event among many is recorded, retried and dead-lettered alone; the others are processed at once', async () => {
    const order = await settledOrder();
    const poisonBulk = uid('evt_poison_bulk');
    const poisonWork = uid('evt_poison_work');
    // The database refuses to mark one event processed (a bulk-marked one); a module's handler throws on another.
    await t.db.pool.query(
      `CREATE FUNCTION public.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'poisoned event %', NEW.event_id; END; $$;
       CREATE TRIGGER poison BEFORE UPDATE ON payins.psp_events FOR EACH ROW
         WHEN (NEW.event_id = '${poisonBulk}' AND NEW.processed_at IS NOT NULL) EXECUTE FUNCTION public.refuse_poison();`,
    );
    const handlers = runtime.pspEventHandlers;
    const original = handlers.payout;
    const payout: NonNullable<PspEventHandlers['payout']> = async (_client, meaning, event) => {
      if (event.id === poisonWork) throw new Error('payout handler: poisoned');
      return `paid: ${meaning.payoutId}`;
    };
    handlers.payout = payout;
    try {
      const others: string[] = [];
      const events = [];
      for (let i = 0; i < 120; i++) {
        const event = i % 3 === 0 ? ignored() : i % 3 === 1 ? succeeded(order) : payoutPaid();
        others.push(event.id);
        events.push(event);
      }
      events.splice(40, 0, ignored(poisonBulk));
      events.splice(80, 0, payoutPaid(poisonWork));
      for (const event of events) expect(await recordPspEvent(runtime, 'stripe', event)).toBe(true);

      await withLoop(async () => (await unprocessed(others)) === 0, 'the events around the poisons');
      for (const poison of [poisonBulk, poisonWork])
        expect(await stateOf(poison)).toMatchObject({
          processed: false,
          attempts: 1,
          dead: false,
          retryInMinutes: 1,
        });
      expect((await stateOf(others[1] ?? '')).outcome).toBe('succeeded: noop');
      expect((await stateOf(others[2] ?? '')).outcome).toMatch(/^paid: po_/);
      expect((await stateOf(others[0] ?? '')).outcome).toBe('ignored: unhandled charge.succeeded');

      // Each further attempt (when its delay is over) fails alone, until the last one dead-letters it.
      for (let attempt = 2; attempt <= PSP_EVENT_MAX_ATTEMPTS; attempt++) {
        await dueNow(poisonBulk);
        await dueNow(poisonWork);
        expect(await processPendingEvents(runtime, 0)).toBe(2);
      }
      for (const poison of [poisonBulk, poisonWork])
        expect(await stateOf(poison)).toMatchObject({
          processed: false,
          attempts: PSP_EVENT_MAX_ATTEMPTS,
          dead: true,
        });
      expect(await processPendingEvents(runtime, 0)).toBe(0);
      const letters = (await listDeadLetters(t.db.pool)).filter((l) => l.queue === PSP_EVENT_QUEUE);
      expect(letters).toHaveLength(2);

      // Mended, and replayed: the events table is the queue, so the loop takes them with no job sent.
      await t.db.pool.query('DROP TRIGGER poison ON payins.psp_events; DROP FUNCTION public.refuse_poison()');
      handlers.payout = async (_client, meaning) => `paid: ${meaning.payoutId}`;
      for (const letter of letters)
        expect((await replayDeadLetter(t.db.pool, NO_JOBS, letter.id, REPLAY_HOOKS)).outcome).toBe(
          'replayed',
        );
      await withLoop(async () => (await unprocessed([poisonBulk, poisonWork])) === 0, 'the replayed events');
    } finally {
      handlers.payout = original;
    }
  });

  it('the same PSP event id delivered many times, at once, is stored once, answered as a duplicate, and processed once', async () => {
    const order = await executingOrder();
    const event = succeeded(order);
    const body = JSON.stringify({ id: event.id, type: event.type, data: { object: event.object } });
    let answers: Array<{ statusCode: number; json(): unknown }> = [];
    // The loop polls once a minute here: once its first pass is over (the sentinel is processed), the event is
    // taken within seconds only because its insert woke the loop.
    const sentinel = ignored();
    await recordPspEvent(runtime, 'stripe', sentinel);
    await withLoop(
      async () => (await unprocessed([event.id])) === 0,
      'the event, woken by its notification',
      async () => {
        await waitFor(async () => ((await unprocessed([sentinel.id])) === 0 ? true : undefined));
        answers = await Promise.all(
          Array.from({ length: 12 }, () =>
            t.app.inject({
              method: 'POST',
              url: '/v1/webhooks/psp/stripe',
              headers: { 'content-type': 'application/json', 'stripe-signature': 'valid' },
              payload: body,
            }),
          ),
        );
      },
    );
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(12).fill(200));
    const bodies = answers.map((answer) => answer.json() as { received: boolean; duplicate: boolean });
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
    const stored = await t.db.pool.query('SELECT 1 FROM payins.psp_events WHERE event_id = $1', [event.id]);
    expect(stored.rowCount).toBe(1);
    expect(await stateOf(event.id)).toMatchObject({
      processed: true,
      outcome: 'succeeded: moved',
      attempts: 0,
    });
    expect(await getOrder(t.db.pool, order)).toMatchObject({ status: 'SUCCESS' });
    expect(await entriesFor(order)).toBe(1);
  });

  it('a crash mid-batch leaves its events to be processed again, and processing them again books nothing twice', async () => {
    const settled = await settledOrder();
    const executing = await executingOrder();
    const crashBulk = uid('evt_crash_bulk');
    const crashWork = uid('evt_crash_work');
    // The backend dies (as under kill -9 of the worker or the database) when this event is marked processed: in
    // the batch's transaction for the first, in the event's own transaction (after its ledger entry) for the second.
    await t.db.pool.query(
      `CREATE FUNCTION public.crash_here() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END; $$;
       CREATE TRIGGER crash BEFORE UPDATE ON payins.psp_events FOR EACH ROW
         WHEN (NEW.event_id IN ('${crashBulk}', '${crashWork}') AND NEW.processed_at IS NOT NULL)
         EXECUTE FUNCTION public.crash_here();`,
    );
    const batch = [
      ignored(),
      succeeded(settled),
      ignored(crashBulk),
      succeeded(settled),
      succeeded(executing, crashWork),
    ];
    for (const event of batch) await recordPspEvent(runtime, 'stripe', event);
    const ids = batch.map((event) => event.id);

    // The batch's transaction dies: nothing of it committed, no attempt counted.
    await expect(processPendingEvents(runtime, 0)).rejects.toThrow();
    expect(await unprocessed(ids)).toBe(ids.length);
    expect((await stateOf(crashBulk)).attempts).toBe(0);

    // Again, past the first crash: the batch commits; the money-moving event's own transaction dies after booking.
    await t.db.pool.query(`DROP TRIGGER crash ON payins.psp_events`);
    await t.db.pool.query(
      `CREATE TRIGGER crash BEFORE UPDATE ON payins.psp_events FOR EACH ROW
         WHEN (NEW.event_id = '${crashWork}' AND NEW.processed_at IS NOT NULL) EXECUTE FUNCTION public.crash_here();`,
    );
    await processPendingEvents(runtime, 0);
    expect(await unprocessed(ids)).toBe(1);
    expect(await getOrder(t.db.pool, executing)).toMatchObject({ status: 'EXECUTING' });
    expect(await entriesFor(executing)).toBe(0);

    // Processed again once the crash is gone (its lease or retry delay over): booked once, and never again.
    await t.db.pool.query('DROP TRIGGER crash ON payins.psp_events; DROP FUNCTION public.crash_here()');
    await dueNow(crashWork);
    await withLoop(async () => (await unprocessed(ids)) === 0, 'the batch');
    expect(await getOrder(t.db.pool, executing)).toMatchObject({ status: 'SUCCESS' });
    expect((await stateOf(crashWork)).outcome).toBe('succeeded: moved');
    const late = succeeded(executing);
    await recordPspEvent(runtime, 'stripe', late);
    await withLoop(async () => (await unprocessed([late.id])) === 0, 'a late repeat');
    expect((await stateOf(late.id)).outcome).toBe('succeeded: noop');
    expect(await entriesFor(executing)).toBe(1);
    expect(await entriesFor(settled)).toBe(1);
  });
});

describe('a PSP event about an order the executor is charging', () => {
  const guard = () => loopGuard(runtime.ctx);

  it('waits for the executor to settle the order, then changes nothing: the order is booked once, by the executor', async () => {
    const order = await executingOrder();
    const event = succeeded(order);
    await recordPspEvent(runtime, 'stripe', event);
    const first = await claimPspEventBatch(runtime, guard(), { limit: 50, leaseMs: 60_000, deferMs: 60_000 });
    expect(first).toMatchObject({ deferred: 1, work: [] });
    expect(first.deferredUntil?.getTime()).toBeGreaterThan(Date.now() + 30_000);
    // Put off without an attempt counted, due again a minute after it arrived.
    expect(await stateOf(event.id)).toMatchObject({ processed: false, attempts: 0, retryInMinutes: 1 });

    // The executor's attempt settles the order; the event, due again, is a no-op the batch marks.
    expect(await executeOrder(runtime, order)).toMatchObject({ status: 'SUCCESS' });
    await dueNow(event.id);
    const second = await claimPspEventBatch(runtime, guard(), {
      limit: 50,
      leaseMs: 60_000,
      deferMs: 60_000,
    });
    expect(second).toMatchObject({ deferred: 0, work: [] });
    expect(await stateOf(event.id)).toMatchObject({ processed: true, outcome: 'succeeded: noop' });
    expect(await entriesFor(order)).toBe(1);
  });

  it('is processed once its deferral is over, when the executor has not settled the order by then', async () => {
    const order = await executingOrder();
    const event = succeeded(order);
    await recordPspEvent(runtime, 'stripe', event);
    // It arrived longer ago than the deferral: taken as work, not put off again.
    await t.db.pool.query(
      `UPDATE payins.psp_events SET received_at = now() - interval '10 seconds' WHERE event_id = $1`,
      [event.id],
    );
    const batch = await claimPspEventBatch(runtime, guard(), { limit: 50, leaseMs: 60_000, deferMs: 5_000 });
    expect(batch.deferred).toBe(0);
    const leased = batch.work.find((work) => work.type === 'payment_intent.succeeded');
    if (leased === undefined) throw new Error('the event was not leased');
    expect(await processPspEventRecordingFailure(runtime, leased.id, leased)).toBe('succeeded: moved');
    expect(await getOrder(t.db.pool, order)).toMatchObject({ status: 'SUCCESS' });
    expect(await entriesFor(order)).toBe(1);
  });

  it('is not put off when its order is not being charged (an attempt flagged for attention)', async () => {
    const order = await executingOrder();
    await t.db.pool.query(
      'UPDATE payins.payment_order SET needs_attention = true WHERE payment_order_id = $1',
      [order],
    );
    const event = succeeded(order);
    await recordPspEvent(runtime, 'stripe', event);
    const batch = await claimPspEventBatch(runtime, guard(), { limit: 50, leaseMs: 60_000, deferMs: 60_000 });
    expect(batch.deferred).toBe(0);
    expect(batch.work.map((work) => work.type)).toContain('payment_intent.succeeded');
    for (const work of batch.work) await processPspEventRecordingFailure(runtime, work.id, work);
    expect(await getOrder(t.db.pool, order)).toMatchObject({ status: 'SUCCESS' });
  });

  it('is taken by the loop when its deferral ends, without waiting for the next poll', async () => {
    const order = await executingOrder();
    const event = succeeded(order);
    // This loop puts such events off for a second; it polls once a minute.
    const deferring: PayinsRuntime = { ...runtime, config: { ...runtime.config, pspEventDeferMs: 1_000 } };
    const loop = new PspEventLoop(deferring, { batch: 50 });
    await loop.start();
    try {
      await recordPspEvent(runtime, 'stripe', event);
      await waitFor(
        async () => ((await unprocessed([event.id])) === 0 ? true : undefined),
        30_000,
        'the event',
      );
    } finally {
      await loop.stop();
      await loop.flush();
    }
    expect(await stateOf(event.id)).toMatchObject({
      processed: true,
      outcome: 'succeeded: moved',
      attempts: 0,
    });
    expect(await entriesFor(order)).toBe(1);
  });
});
