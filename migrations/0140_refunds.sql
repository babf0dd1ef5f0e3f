-- Refunds (docs/refunds.md): one row per refund, made through the API (`source = 'api'`) or in the PSP's own
-- dashboard (`source = 'psp'`), its append-only status history, and the per-order refundable amount, whose CHECK
-- makes the database refuse refunds summing above what was captured.
CREATE SCHEMA refunds;

-- One row per payment order that was ever refunded: the captured amount and what refunds have taken from it.
-- Every refund that counts (pending or succeeded) adds its amount here in the transaction that inserts it; a
-- refund that fails or is canceled gives it back. The CHECK is the last word on "never above captured".
CREATE TABLE refunds.refundable (
  payment_order_id  text PRIMARY KEY,
  currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  captured_minor    bigint NOT NULL CHECK (captured_minor > 0),
  refunded_minor    bigint NOT NULL DEFAULT 0,
  -- What was booked so far (succeeded refunds) and the platform fee given back with it (proportional policy).
  booked_minor      bigint NOT NULL DEFAULT 0,
  fee_back_minor    bigint NOT NULL DEFAULT 0,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (refunded_minor >= 0 AND refunded_minor <= captured_minor),
  CHECK (booked_minor >= 0 AND booked_minor <= captured_minor),
  CHECK (fee_back_minor >= 0)
);

CREATE TABLE refunds.refunds (
  id                 text PRIMARY KEY CHECK (id ~ '^rf_[a-z0-9]{1,40}$'),
  payment_order_id   text NOT NULL REFERENCES refunds.refundable (payment_order_id),
  checkout_id        text NOT NULL,
  seller_account     text NOT NULL,
  amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
  currency           char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status             text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
  source             text NOT NULL CHECK (source IN ('api', 'psp')),
  reason             text CHECK (reason IS NULL OR length(reason) <= 500),
  metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
  failure_reason     text,
  psp_payment_id     text NOT NULL,
  psp_refund_id      text UNIQUE,
  -- Execution (source 'api'): attempts at the PSP, when the next is due (NULL: none due), the last error.
  attempts           integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at    timestamptz,
  last_error         text,
  needs_attention    boolean NOT NULL DEFAULT false,
  -- Polling of a refund the PSP holds as pending.
  next_poll_at       timestamptz,
  poll_count         integer NOT NULL DEFAULT 0,
  -- The booking: the refund's entry, its split (so a reversal gives back what was taken), and the reversal.
  ledger_entry_id    text,
  booking            jsonb,
  reversal_entry_id  text,
  -- The PSP's processing fee passed to the seller (policy psp_fee = seller): due, then booked.
  psp_fee_policy     text NOT NULL DEFAULT 'platform' CHECK (psp_fee_policy IN ('platform', 'seller')),
  platform_fee_policy text NOT NULL DEFAULT 'keep' CHECK (platform_fee_policy IN ('keep', 'proportional')),
  psp_fee_due        boolean NOT NULL DEFAULT false,
  psp_fee_entry_id   text,
  psp_fee_attempts   integer NOT NULL DEFAULT 0,
  next_psp_fee_at    timestamptz,
  api_key_id         text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'succeeded' OR psp_refund_id IS NOT NULL),
  CHECK (source = 'api' OR psp_refund_id IS NOT NULL),
  CHECK (reversal_entry_id IS NULL OR ledger_entry_id IS NOT NULL),
  CHECK (ledger_entry_id IS NULL OR status IN ('succeeded', 'failed'))
);
CREATE INDEX refunds_order ON refunds.refunds (payment_order_id, created_at, id);
CREATE INDEX refunds_seller ON refunds.refunds (seller_account, created_at, id);
CREATE INDEX refunds_status ON refunds.refunds (status, created_at, id);
CREATE INDEX refunds_created ON refunds.refunds (created_at, id);
CREATE INDEX refunds_checkout ON refunds.refunds (checkout_id);
CREATE INDEX refunds_due ON refunds.refunds (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX refunds_poll ON refunds.refunds (next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE INDEX refunds_psp_fee ON refunds.refunds (next_psp_fee_at) WHERE psp_fee_due;

-- A final refund stays final, except the one move Stripe makes: succeeded -> failed (a refund that failed after
-- it had succeeded, e.g. the card was closed). No refund row is ever deleted.
CREATE FUNCTION refunds.refuse_backward_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> NEW.status AND NOT (
       OLD.status = 'pending'
       OR (OLD.status = 'succeeded' AND NEW.status = 'failed')) THEN
    RAISE EXCEPTION 'refund %: status % -> % refused', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.amount_minor <> NEW.amount_minor OR OLD.payment_order_id <> NEW.payment_order_id
     OR OLD.source <> NEW.source OR OLD.currency <> NEW.currency THEN
    RAISE EXCEPTION 'refund %: amount, order, currency and source never change', OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refunds_forward_only BEFORE UPDATE ON refunds.refunds
  FOR EACH ROW EXECUTE FUNCTION refunds.refuse_backward_status();
CREATE TRIGGER refunds_no_delete BEFORE DELETE ON refunds.refunds
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

CREATE TABLE refunds.status_history (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  refund_id   text NOT NULL REFERENCES refunds.refunds (id),
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  from_status text CHECK (from_status IS NULL OR from_status IN ('pending', 'succeeded', 'failed', 'canceled')),
  to_status   text NOT NULL CHECK (to_status IN ('pending', 'succeeded', 'failed', 'canceled')),
  reason      text NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX status_history_refund ON refunds.status_history (refund_id, id);
-- Reconciliation's look-up of refunds that succeeded in a span (refund_missing_at_psp).
CREATE INDEX status_history_to_at ON refunds.status_history (to_status, at);
CREATE TRIGGER status_history_append_only BEFORE UPDATE OR DELETE ON refunds.status_history
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

-- The sellers' refund policy overrides (src/sellers/refund-policy.ts); no row: the platform's policy.
CREATE TABLE sellers.refund_policies (
  seller_account text PRIMARY KEY REFERENCES sellers.sellers (seller_account),
  platform_fee   text CHECK (platform_fee IS NULL OR platform_fee IN ('keep', 'proportional')),
  psp_fee        text CHECK (psp_fee IS NULL OR psp_fee IN ('platform', 'seller')),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
