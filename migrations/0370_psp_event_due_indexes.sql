-- The PSP-event loop's fetch of due events (src/payins/work-store.ts `lockDuePspEvents`; issue 17,
-- docs/performance.md "Fifth pass"). It read psp_events_unprocessed in id order and checked each event's
-- `next_attempt_at` on its row, so every fetch walked past every event waiting: those put off while their order's
-- charge is in flight (a few seconds' worth of traffic), those waiting for a retry, and those leased to a worker.
-- In the payins benchmark's open loop it was the second statement by server time (2.1 ms a fetch, one fetch per
-- event). The fetch now takes the events never put off from the first index below, in id order, and the waiting
-- ones that fell due from the second, by due time: each reads only what it returns.
--
-- The price: `next_attempt_at` is now indexed, so the update that defers, leases or schedules a retry of an event
-- is no longer heap-only. The two indexes together hold what psp_events_unprocessed held, which goes: the sweep's
-- look (`anyDuePspEvent`) reads them the same way, and a third index over the same events would be one more write
-- per event and a choice for the planner to get wrong.
CREATE INDEX psp_events_fresh ON payins.psp_events (id)
  WHERE processed_at IS NULL AND dead_lettered_at IS NULL AND next_attempt_at IS NULL;
CREATE INDEX psp_events_waiting ON payins.psp_events (next_attempt_at, id)
  WHERE processed_at IS NULL AND dead_lettered_at IS NULL AND next_attempt_at IS NOT NULL;
DROP INDEX payins.psp_events_unprocessed;
