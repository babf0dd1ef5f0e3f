-- Outbox delivery is bounded: after BURSAR_WEBHOOK_MAX_ATTEMPTS failed attempts a message is dead-lettered
-- (jobs.dead_letters, queue 'payins-outbox', shown by `bursar dlq`) and left alone until it is replayed.
ALTER TABLE payins.outbox
  ADD COLUMN dead_lettered_at timestamptz,
  ADD CONSTRAINT outbox_published_or_dead CHECK (published_at IS NULL OR dead_lettered_at IS NULL);

DROP INDEX payins.outbox_due;
CREATE INDEX outbox_due ON payins.outbox (next_attempt_at, id) WHERE published_at IS NULL AND dead_lettered_at IS NULL;

-- A PSP event whose processing keeps failing is tried again on a doubling delay (1 minute to 4 hours) and, after
-- its attempts, dead-lettered too (queue 'payins-psp-event') instead of being tried at every tick for ever;
-- replaying it (`bursar dlq replay`) gives it a fresh set of attempts.
ALTER TABLE payins.psp_events
  ADD COLUMN attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  ADD COLUMN last_error       text,
  ADD COLUMN next_attempt_at  timestamptz,
  ADD COLUMN dead_lettered_at timestamptz,
  ADD CONSTRAINT psp_events_processed_or_dead CHECK (processed_at IS NULL OR dead_lettered_at IS NULL);

DROP INDEX payins.psp_events_unprocessed;
CREATE INDEX psp_events_unprocessed ON payins.psp_events (id) WHERE processed_at IS NULL AND dead_lettered_at IS NULL;
