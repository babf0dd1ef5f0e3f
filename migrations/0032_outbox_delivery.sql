-- Outbox delivery without a transaction held across the network: a publisher claims a message with a short
-- lease (committed), sends it, then records the outcome. A failed send is retried later with backoff.
ALTER TABLE payins.outbox
  ADD COLUMN attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN lease_until     timestamptz,
  ADD COLUMN last_error      text;

DROP INDEX payins.outbox_unpublished;
CREATE INDEX outbox_due ON payins.outbox (next_attempt_at, id) WHERE published_at IS NULL;
