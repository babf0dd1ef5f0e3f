-- The sandbox PSP's own state: a local stand-in for Stripe. Nothing in Bursar's own schemas refers to it; it
-- lives here so that it survives a restart. Stripe objects are kept as the JSON the API returns (`data`), plus
-- what Stripe knows but does not show (`internal`: a card's test behaviour, a webhook endpoint's secret…).
CREATE SCHEMA IF NOT EXISTS sandbox;

CREATE TABLE sandbox.objects (
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
CREATE INDEX objects_by_kind ON sandbox.objects (object, created DESC, seq DESC);
CREATE INDEX objects_metadata ON sandbox.objects USING gin ((data -> 'metadata') jsonb_path_ops);

-- Stripe's idempotency: one saved response per (API key, Idempotency-Key); the request fingerprint tells a
-- replay (same parameters) from a misuse (other parameters).
CREATE TABLE sandbox.idempotency_keys (
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
CREATE TABLE sandbox.webhook_deliveries (
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
CREATE INDEX webhook_deliveries_due ON sandbox.webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event ON sandbox.webhook_deliveries (event_id);

-- Small named values: the day of the last automatic payout, the sandbox clock's offset.
CREATE TABLE sandbox.state (
  key   text PRIMARY KEY,
  value jsonb NOT NULL
);
