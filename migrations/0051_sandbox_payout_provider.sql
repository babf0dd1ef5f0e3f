-- The sandbox's payout-provider API (src/sandbox/payout-provider.ts): transfers it accepted, settles later, and
-- reports by signed webhook.
CREATE TABLE sandbox.payout_transfers (
  id               text PRIMARY KEY,
  external_id      text NOT NULL UNIQUE,
  amount_minor     bigint NOT NULL CHECK (amount_minor > 0),
  currency         char(3) NOT NULL,
  destination      jsonb NOT NULL,
  status           text NOT NULL CHECK (status IN ('processing', 'paid', 'returned')),
  planned_outcome  text NOT NULL CHECK (planned_outcome IN ('paid', 'returned')),
  reason           text,
  complete_at      timestamptz NOT NULL,
  notify_url       text,
  event_id         text,
  notified_at      timestamptz,
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payout_transfers_due ON sandbox.payout_transfers (complete_at) WHERE status = 'processing';
CREATE INDEX payout_transfers_notify ON sandbox.payout_transfers (next_attempt_at) WHERE notified_at IS NULL AND status <> 'processing';
