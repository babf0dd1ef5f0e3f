-- Pay-ins: checkouts (payment events), their payment orders, the append-only status history, idempotency
-- records, risk decisions, PSP events received by webhook, and the outbox of non-money side effects.
CREATE SCHEMA IF NOT EXISTS payins;

CREATE TABLE payins.payment_event (
  checkout_id       text PRIMARY KEY CHECK (checkout_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  api_key_id        text NOT NULL,
  buyer_info        jsonb NOT NULL,
  -- The sellers of the checkout's orders, for readers of the event alone.
  seller_info       jsonb NOT NULL,
  -- A PSP token only, never card data: {"payment_method": "pm_…"} or {"flow": "hosted_page", "return_url": …}.
  credit_card_info  jsonb NOT NULL,
  flow              text NOT NULL CHECK (flow IN ('saved_method', 'hosted_page')),
  currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  total_minor       bigint NOT NULL CHECK (total_minor > 0),
  -- Hosted flow: the PSP session (the token stored before the buyer is redirected).
  psp_session_id    text UNIQUE,
  psp_session_url   text,
  psp_session_expires_at timestamptz,
  -- Polling of the hosted session when no webhook comes: when to ask next and how often we asked.
  next_poll_at      timestamptz,
  poll_count        integer NOT NULL DEFAULT 0 CHECK (poll_count >= 0),
  is_payment_done   boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_event_buyer ON payins.payment_event ((buyer_info ->> 'id'), created_at);
CREATE INDEX payment_event_poll ON payins.payment_event (next_poll_at) WHERE NOT is_payment_done AND next_poll_at IS NOT NULL;

CREATE TABLE payins.payment_order (
  payment_order_id     text PRIMARY KEY CHECK (payment_order_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  checkout_id          text NOT NULL REFERENCES payins.payment_event (checkout_id),
  position             integer NOT NULL CHECK (position >= 0),
  buyer_account        text NOT NULL,
  seller_account       text NOT NULL REFERENCES sellers.sellers (seller_account),
  amount_minor         bigint NOT NULL CHECK (amount_minor > 0),
  currency             char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  fee_minor            bigint CHECK (fee_minor IS NULL OR (fee_minor >= 0 AND fee_minor <= amount_minor)),
  payment_order_status text NOT NULL DEFAULT 'NOT_STARTED'
    CHECK (payment_order_status IN ('NOT_STARTED', 'EXECUTING', 'PENDING', 'SUCCESS', 'FAILED')),
  status_reason        text,
  ledger_updated       boolean NOT NULL DEFAULT false,
  wallet_updated       boolean NOT NULL DEFAULT false,
  psp_payment_id       text,
  psp_charge_id        text,
  psp_session_id       text,
  attempts             integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error           text,
  decline_code         text,
  needs_attention      boolean NOT NULL DEFAULT false,
  -- Sweeping of orders left EXECUTING: when to ask the PSP next and how often we asked.
  next_sweep_at        timestamptz,
  sweep_count          integer NOT NULL DEFAULT 0 CHECK (sweep_count >= 0),
  -- Bumped on every claim and every change, so that a settler can tell whether someone acted since it read.
  version              bigint NOT NULL DEFAULT 0,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (checkout_id, position),
  -- The ledger flags are set with SUCCESS, in the same transaction as the entry, and never otherwise.
  CHECK ((payment_order_status = 'SUCCESS') = ledger_updated),
  CHECK (ledger_updated = wallet_updated),
  CHECK (payment_order_status <> 'SUCCESS' OR fee_minor IS NOT NULL)
);
CREATE INDEX payment_order_checkout ON payins.payment_order (checkout_id, position);
CREATE INDEX payment_order_open ON payins.payment_order (payment_order_status, updated_at)
  WHERE payment_order_status IN ('EXECUTING', 'PENDING');

-- A status never goes backwards and a final status never changes: asserted here as well as in the
-- application's state machine (src/payins/state-machine.ts).
CREATE FUNCTION payins.status_rank(status text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE status WHEN 'NOT_STARTED' THEN 0 WHEN 'EXECUTING' THEN 1 WHEN 'PENDING' THEN 2
                     WHEN 'SUCCESS' THEN 3 WHEN 'FAILED' THEN 3 END
$$;

CREATE FUNCTION payins.refuse_backward_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.payment_order_status IS DISTINCT FROM OLD.payment_order_status THEN
    IF OLD.payment_order_status IN ('SUCCESS', 'FAILED')
       OR payins.status_rank(NEW.payment_order_status) < payins.status_rank(OLD.payment_order_status) THEN
      RAISE EXCEPTION 'payment order %: status % -> % refused', OLD.payment_order_id, OLD.payment_order_status,
        NEW.payment_order_status USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  IF OLD.ledger_updated AND NOT NEW.ledger_updated THEN
    RAISE EXCEPTION 'payment order %: ledger_updated cannot be cleared', OLD.payment_order_id
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.amount_minor <> OLD.amount_minor OR NEW.currency <> OLD.currency
     OR NEW.seller_account <> OLD.seller_account OR NEW.checkout_id <> OLD.checkout_id THEN
    RAISE EXCEPTION 'payment order %: amount, currency, seller and checkout are fixed', OLD.payment_order_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER payment_order_forward_only BEFORE UPDATE ON payins.payment_order
  FOR EACH ROW EXECUTE FUNCTION payins.refuse_backward_status();
CREATE TRIGGER payment_order_no_delete BEFORE DELETE ON payins.payment_order
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

CREATE TABLE payins.payment_order_status_history (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payment_order_id text NOT NULL REFERENCES payins.payment_order (payment_order_id),
  at               timestamptz NOT NULL DEFAULT clock_timestamp(),
  from_status      text CHECK (from_status IS NULL OR from_status IN ('NOT_STARTED', 'EXECUTING', 'PENDING', 'SUCCESS', 'FAILED')),
  to_status        text NOT NULL CHECK (to_status IN ('NOT_STARTED', 'EXECUTING', 'PENDING', 'SUCCESS', 'FAILED')),
  reason           text NOT NULL,
  details          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX payment_order_status_history_order ON payins.payment_order_status_history (payment_order_id, id);
CREATE TRIGGER payment_order_status_history_append_only BEFORE UPDATE OR DELETE ON payins.payment_order_status_history
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

-- One row per (API key, Idempotency-Key): the request's fingerprint and, once done, the response to replay.
-- `in_progress` rows carry a lease: a request that finds one whose lease ran out may take the work over.
CREATE TABLE payins.idempotency_keys (
  api_key_id       text NOT NULL,
  idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  fingerprint      bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
  state            text NOT NULL CHECK (state IN ('in_progress', 'completed')),
  checkout_id      text,
  response_status  integer,
  response_body    jsonb,
  locked_until     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  PRIMARY KEY (api_key_id, idempotency_key),
  CHECK (state <> 'completed' OR (response_status IS NOT NULL AND response_body IS NOT NULL))
);
CREATE INDEX idempotency_keys_expiry ON payins.idempotency_keys (expires_at);

CREATE TABLE payins.risk_decisions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  checkout_id  text NOT NULL REFERENCES payins.payment_event (checkout_id),
  provider     text NOT NULL,
  decision     text NOT NULL CHECK (decision IN ('approve', 'review', 'reject')),
  reasons      jsonb NOT NULL DEFAULT '[]'::jsonb,
  decided_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risk_decisions_checkout ON payins.risk_decisions (checkout_id);
CREATE TRIGGER risk_decisions_append_only BEFORE UPDATE OR DELETE ON payins.risk_decisions
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

-- Events the PSP sent by webhook, each stored once (unique on the PSP's id) before anything acts on it.
CREATE TABLE payins.psp_events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  psp           text NOT NULL,
  event_id      text NOT NULL,
  event_type    text NOT NULL,
  payload       jsonb NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  processed_at  timestamptz,
  outcome       text,
  UNIQUE (psp, event_id)
);
CREATE INDEX psp_events_unprocessed ON payins.psp_events (id) WHERE processed_at IS NULL;

-- Side effects that are not money (notifications, analytics), written in the transaction of the change.
CREATE TABLE payins.outbox (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic         text NOT NULL,
  payload       jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON payins.outbox (id) WHERE published_at IS NULL;
