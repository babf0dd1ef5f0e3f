-- Events and webhook endpoints (issue 14, docs/events.md): the events module's own schema.
--
-- events.events: every state change a marketplace hears of, written once in the transaction that made the change,
-- in Stripe's envelope (id evt_…, type, created, api_version, data.object as it was then).
-- events.webhook_endpoints: where events are sent, each with its own filter and signing secret (encrypted at rest
-- with AES-256-GCM by the application; the key is never in the database).
-- events.deliveries: one row per (event, endpoint) send, retried with backoff; events.delivery_attempts: each try.
CREATE SCHEMA IF NOT EXISTS events;

CREATE TABLE events.events (
  id          text PRIMARY KEY CHECK (id ~ '^evt_[A-Za-z0-9_]{1,60}$'),
  type        text NOT NULL CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$'),
  api_version text NOT NULL CHECK (api_version <> ''),
  data        jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- The order events were written in (several events of one transaction share created_at).
  seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE INDEX events_list ON events.events (created_at, id);
CREATE INDEX events_list_type ON events.events (type, created_at, id);

CREATE TABLE events.webhook_endpoints (
  id                    text PRIMARY KEY CHECK (id ~ '^we_[A-Za-z0-9_]{1,60}$'),
  url                   text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
  description           text CHECK (length(description) <= 500),
  enabled_events        text[] NOT NULL CHECK (cardinality(enabled_events) BETWEEN 1 AND 100),
  status                text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  disabled_reason       text,
  -- 'api': made with POST /v1/webhook_endpoints; 'env': BURSAR_WEBHOOK_URL, kept in step at start.
  source                text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'env')),
  secret_enc            text NOT NULL,
  previous_secret_enc   text,
  previous_secret_until timestamptz,
  consecutive_failures  integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  deleted_at            timestamptz,
  CHECK ((previous_secret_enc IS NULL) = (previous_secret_until IS NULL))
);
CREATE INDEX webhook_endpoints_list ON events.webhook_endpoints (created_at, id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX webhook_endpoints_env ON events.webhook_endpoints (source) WHERE source = 'env' AND deleted_at IS NULL;

-- Whether an endpoint's filter takes an event type: '*' takes all, 'refund.*' a family, else the exact type.
CREATE FUNCTION events.takes(filter text[], event_type text) RETURNS boolean
  LANGUAGE sql IMMUTABLE AS $$
  SELECT EXISTS (SELECT 1 FROM unnest(filter) f
                  WHERE f = '*' OR f = event_type
                     OR (f LIKE '%.*' AND starts_with(event_type, left(f, -1))))
$$;

CREATE TABLE events.deliveries (
  id              text PRIMARY KEY,
  event_id        text NOT NULL REFERENCES events.events (id),
  endpoint_id     text NOT NULL REFERENCES events.webhook_endpoints (id),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until     timestamptz,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  CHECK ((status = 'pending') = (finished_at IS NULL))
);
CREATE INDEX deliveries_due ON events.deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_event ON events.deliveries (event_id);
CREATE INDEX deliveries_endpoint ON events.deliveries (endpoint_id) WHERE status = 'pending';

CREATE TABLE events.delivery_attempts (
  id           text PRIMARY KEY,
  delivery_id  text NOT NULL REFERENCES events.deliveries (id),
  endpoint_id  text NOT NULL REFERENCES events.webhook_endpoints (id),
  event_id     text NOT NULL REFERENCES events.events (id),
  attempt      integer NOT NULL CHECK (attempt >= 1),
  succeeded    boolean NOT NULL,
  status_code  integer,
  error        text,
  latency_ms   integer NOT NULL CHECK (latency_ms >= 0),
  -- From the event's commit to this try's start: the figure the delivery-latency benchmark reads.
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_attempts_list ON events.delivery_attempts (endpoint_id, created_at, id);

-- The pay-in outbox is retired: its rows become events (same ids as the webhooks carried, evt_<outbox id>, so a
-- receiver's dedupe still works; the two pay-in types take their issue names). Messages the outbox had not
-- delivered yet stay with the outbox's publisher, which drains them to BURSAR_WEBHOOK_URL; nothing new is written
-- to it, and nothing is sent twice (copied events get no delivery rows).
INSERT INTO events.events (id, type, api_version, data, created_at)
SELECT 'evt_' || o.id,
       CASE o.topic WHEN 'payment_order.success' THEN 'payment_order.succeeded'
                    WHEN 'payment_order.failed' THEN 'payment_order.failed'
                    ELSE o.topic END,
       '2026-12-01', jsonb_build_object('object', o.payload), o.created_at
  FROM payins.outbox o
 WHERE o.topic ~ '^[a-z_]+(\.[a-z_]+)+$' AND jsonb_typeof(o.payload) = 'object'
 ORDER BY o.id;

COMMENT ON TABLE payins.outbox IS 'Retired by migration 0230 (events.events); drained, no longer written.';
