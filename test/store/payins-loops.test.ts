import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLAY_HOOKS } from '../../src/cli/dlq.ts';
import { listDeadLetters, replayDeadLetter } from '../../src/jobs/dead-letters.ts';
import { LOOP_FAILURES_METRIC } from '../../src/jobs/loops.ts';
import { PSP_EVENT_MAX_ATTEMPTS } from '../../src/payins/event-failures.ts';
import { processPendingEvents, processPspEventRecordingFailure } from '../../src/payins/psp-events.ts';
import { PSP_EVENT_QUEUE, type PayinsRuntime } from '../../src/payins/runtime.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { NO_JOBS } from '../support/jobs.ts';

let t: TestApp;
let runtime: PayinsRuntime;

beforeAll(async () => {
  t = await createPayinsTestApp({ psp: new FakePsp() });
  runtime = t.modules.payins.runtime;
  // A PSP event whose processing throws: the database refuses to mark this one processed.
  await t.db.pool.query(`
    CREATE FUNCTION public.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'poisoned event %', NEW.event_id; END; $$;
    CREATE TRIGGER poison BEFORE UPDATE ON payins.psp_events FOR EACH ROW
      WHEN (NEW.event_id = 'evt_poison' AND NEW.processed_at IS NOT NULL) EXECUTE FUNCTION public.refuse_poison();`);
});

afterAll(async () => {
  await t.close();
});

async function insertEvent(eventId: string): Promise<bigint> {
  const row = await t.db.pool.query<{ id: bigint }>(
    `INSERT INTO payins.psp_events (psp, event_id, event_type, payload, received_at)
     VALUES ('test', $1, 'test.nothing_to_do', '{"object": {}}', now() - interval '2 minutes') RETURNING id`,
    [eventId],
  );
  const id = row.rows[0]?.id;
  if (id === undefined) throw new Error('no event row');
  return id;
}

async function loopFailures(loop: string): Promise<number> {
  const metric = await t.ctx.metrics.getSingleMetric(LOOP_FAILURES_METRIC)?.get();
  return metric?.values.find((value) => value.labels.loop === loop)?.value ?? 0;
}

describe('failure isolation of the PSP event loop', () => {
  it('one event whose processing throws is logged, counted and, after its attempts, dead-lettered; the others proceed', async () => {
    const before = await insertEvent('evt_before');
    const poison = await insertEvent('evt_poison');
    const after = await insertEvent('evt_after');

    expect(await processPendingEvents(runtime, 60_000)).toBe(3);
    const states = await t.db.pool.query<{
      id: bigint;
      processed: boolean;
      attempts: number;
      last_error: string | null;
    }>(
      'SELECT id, processed_at IS NOT NULL AS processed, attempts, last_error FROM payins.psp_events ORDER BY id',
    );
    expect(states.rows.map((row) => [row.id, row.processed, row.attempts])).toEqual([
      [before, true, 0],
      [poison, false, 1],
      [after, true, 0],
    ]);
    expect(states.rows[1]?.last_error).toContain('poisoned event evt_poison');
    expect(await loopFailures('psp_events')).toBe(1);

    // A failed event waits (a doubling delay) before it is tried again, so a PSP outage does not use it up.
    const wait = await t.db.pool.query<{ minutes: number }>(
      'SELECT round(extract(epoch FROM next_attempt_at - now()) / 60)::int AS minutes FROM payins.psp_events WHERE id = $1',
      [poison],
    );
    expect(wait.rows[0]?.minutes).toBe(1);
    expect(await processPendingEvents(runtime, 60_000)).toBe(0);
    for (let attempt = 2; attempt <= PSP_EVENT_MAX_ATTEMPTS; attempt++) {
      await t.db.pool.query('UPDATE payins.psp_events SET next_attempt_at = now() WHERE id = $1', [poison]);
      expect(await processPendingEvents(runtime, 60_000)).toBe(1);
    }
    expect(await loopFailures('psp_events')).toBe(PSP_EVENT_MAX_ATTEMPTS);
    // Dead-lettered: no loop picks it again, and `bursar dlq` shows it.
    expect(await processPendingEvents(runtime, 60_000)).toBe(0);
    const letter = (await listDeadLetters(t.db.pool)).find((l) => l.queue === PSP_EVENT_QUEUE);
    expect(letter).toMatchObject({ subject: poison.toString(), attempts: PSP_EVENT_MAX_ATTEMPTS });

    // Once the cause is mended, a replay gives it fresh attempts and it is processed.
    await t.db.pool.query('DROP TRIGGER poison ON payins.psp_events');
    const replayed = await replayDeadLetter(t.db.pool, NO_JOBS, letter?.id ?? '', REPLAY_HOOKS);
    expect(replayed.outcome).toBe('replayed');
    expect(await processPspEventRecordingFailure(runtime, poison)).toContain('ignored');
    const done = await t.db.pool.query<{ processed: boolean; dead: boolean }>(
      'SELECT processed_at IS NOT NULL AS processed, dead_lettered_at IS NOT NULL AS dead FROM payins.psp_events WHERE id = $1',
      [poison],
    );
    expect(done.rows[0]).toEqual({ processed: true, dead: false });
  });
});
