-- The sandbox's first migration, in its own chain (table sandbox.schema_migrations, run by the sandbox when it
-- starts). Until the sandbox became its own program these tables came from the product's migrations
-- 0040_sandbox.sql and 0051_sandbox_payout_provider.sql; a database that applied those has them already, so every
-- statement here is IF NOT EXISTS and the result is the same either way.
--
-- The sandbox PSP's own state: a local stand-in for Stripe. Nothing in Bursar's own schemas refers to it; it
-- lives here so that it survives a restart. Stripe objects are kept as the JSON the API returns (`data`), plus
-- what Stripe knows but does not show (`internal`: a card's test behaviour, a webhook endpoint's secret…).
CREATE SCHEMA IF NOT EXISTS sandbox;

CREATE TABLE IF NOT EXISTS sandbox.objects (
  id       text PRIMARY KEY,
  -- Stripe's `object` field: payment_intent, charge, checkout.session, event, balance_transaction…
  object   text NOT NULL,
  -- Insertion order, the tie-break of list ordering and pagination cursors.
  seq      bigserial NOT NULL UNIQUE,
  -- Unix seconds, as in `data.created`, kept as a column for range filters and ordering.
  created  bigint NOT NULL,
  data     jsonb NOT NULL,
  internal jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS objects_by_kind ON sandbox.objects (object, created DESC, seq DESC);
CREATE INDEX IF NOT EXISTS objects_metadata ON sandbox.objects USING gin ((data -> 'metadata') jsonb_path_ops);

-- Stripe's idempotency: one saved response per (API key, Idempotency-Key); the request fingerprint tells a
-- replay (same parameters) from a misuse (other parameters).
CREATE TABLE IF NOT EXISTS sandbox.idempotency_keys (
  api_key_hash text NOT NULL,
  key          text NOT NULL,
  method       text NOT NULL,
  path         text NOT NULL,
  fingerprint  text NOT NULL,
  status       integer NOT NULL,
  body         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (api_key_hash, key)
);

-- The webhook outbox: one row per (event, destination) attempt series, written in the transaction that made the
-- event and worked off by the dispatcher with retries and backoff.
CREATE TABLE IF NOT EXISTS sandbox.webhook_deliveries (
  id              bigserial PRIMARY KEY,
  event_id        text NOT NULL,
  event_type      text NOT NULL,
  -- we_… for endpoints created through the API, `config:<n>` for destinations given by configuration.
  destination     text NOT NULL,
  url             text NOT NULL,
  secret          text NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dropped')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_status     integer,
  last_error      text,
  delivered_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON sandbox.webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_event ON sandbox.webhook_deliveries (event_id);

-- Small named values: the day of the last automatic payout, the sandbox clock's offset.
CREATE TABLE IF NOT EXISTS sandbox.state (
  key   text PRIMARY KEY,
  value jsonb NOT NULL
);

-- The sandbox's payout-provider API (sandbox/payout-provider.ts): transfers it accepted, settles later, and
-- reports by signed webhook.
CREATE TABLE IF NOT EXISTS sandbox.payout_transfers (
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
CREATE INDEX IF NOT EXISTS payout_transfers_due ON sandbox.payout_transfers (complete_at) WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS payout_transfers_notify ON sandbox.payout_transfers (next_attempt_at) WHERE notified_at IS NULL AND status <> 'processing';
