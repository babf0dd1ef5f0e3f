-- Disputes (chargebacks): one row per PSP dispute, what it took from and gave back to each seller (allocations),
-- and the append-only status history. docs/disputes.md explains the lifecycle and the ledger recipes.
CREATE SCHEMA IF NOT EXISTS disputes;

CREATE FUNCTION disputes.status_rank(status text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE status
    WHEN 'warning_needs_response' THEN 0
    WHEN 'needs_response' THEN 1
    WHEN 'warning_under_review' THEN 1
    WHEN 'under_review' THEN 2
    ELSE 3 END
$$;

CREATE TABLE disputes.disputes (
  id                   text PRIMARY KEY CHECK (id ~ '^dsp_[a-f0-9]{8,64}$'),
  psp                  text NOT NULL,
  psp_dispute_id       text NOT NULL,
  psp_charge_id        text,
  psp_payment_id       text,
  amount_minor         bigint NOT NULL CHECK (amount_minor > 0),
  currency             char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status               text NOT NULL CHECK (status IN ('warning_needs_response', 'warning_under_review',
                         'warning_closed', 'needs_response', 'under_review', 'won', 'lost', 'prevented')),
  reason               text,
  evidence_due_by      timestamptz,
  -- Who bears the PSP's dispute fee, decided once when the dispute is booked (each seller's policy, else the
  -- platform's; 'mixed' when the sellers of one charge differ).
  fee_bearer           text CHECK (fee_bearer IN ('seller', 'platform', 'mixed')),
  -- What the PSP took when the dispute opened (amount and fee), and gave back when it was won.
  withdrawn_minor      bigint CHECK (withdrawn_minor IS NULL OR withdrawn_minor > 0),
  fee_minor            bigint CHECK (fee_minor IS NULL OR fee_minor >= 0),
  withdrawal_txn       text,
  reinstated_minor     bigint CHECK (reinstated_minor IS NULL OR reinstated_minor > 0),
  fee_returned_minor   bigint CHECK (fee_returned_minor IS NULL OR fee_returned_minor >= 0),
  reinstatement_txn    text,
  -- Set when no payment order of ours matches the PSP's payment: nothing is booked, reconciliation reports it.
  unattributed         boolean NOT NULL DEFAULT false,
  next_poll_at         timestamptz,
  poll_count           integer NOT NULL DEFAULT 0 CHECK (poll_count >= 0),
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  closed_at            timestamptz,
  UNIQUE (psp_dispute_id, psp),
  CHECK (withdrawn_minor IS NULL OR withdrawn_minor <= amount_minor),
  CHECK (reinstated_minor IS NULL OR (withdrawn_minor IS NOT NULL AND reinstated_minor <= withdrawn_minor)),
  CHECK (fee_returned_minor IS NULL OR fee_returned_minor <= coalesce(fee_minor, 0)),
  CHECK ((withdrawn_minor IS NULL) = (withdrawal_txn IS NULL)),
  CHECK ((reinstated_minor IS NULL) = (reinstatement_txn IS NULL)),
  CHECK (withdrawn_minor IS NULL OR unattributed OR fee_bearer IS NOT NULL),
  -- Money comes back only for a dispute that ended won.
  CHECK (reinstated_minor IS NULL OR status = 'won'),
  CHECK ((disputes.status_rank(status) = 3) = (closed_at IS NOT NULL))
);

CREATE INDEX disputes_created ON disputes.disputes (created_at, id);
CREATE INDEX disputes_status_created ON disputes.disputes (status, created_at, id);
CREATE INDEX disputes_poll ON disputes.disputes (next_poll_at) WHERE closed_at IS NULL;
CREATE INDEX disputes_payment ON disputes.disputes (psp_payment_id);
CREATE INDEX disputes_withdrawal_txn ON disputes.disputes (withdrawal_txn);
CREATE INDEX disputes_reinstatement_txn ON disputes.disputes (reinstatement_txn);

-- A status never goes backwards and a final status never changes; what was withdrawn or reinstated, once
-- recorded, never changes either (the ledger entries were booked from it).
CREATE FUNCTION disputes.guard_dispute() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF disputes.status_rank(NEW.status) < disputes.status_rank(OLD.status)
     OR (disputes.status_rank(OLD.status) = 3 AND NEW.status <> OLD.status) THEN
    RAISE EXCEPTION 'dispute %: status % -> % refused', OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  IF (OLD.withdrawn_minor IS NOT NULL AND NEW.withdrawn_minor IS DISTINCT FROM OLD.withdrawn_minor)
     OR (OLD.fee_minor IS NOT NULL AND NEW.fee_minor IS DISTINCT FROM OLD.fee_minor)
     OR (OLD.reinstated_minor IS NOT NULL AND NEW.reinstated_minor IS DISTINCT FROM OLD.reinstated_minor)
     OR (OLD.fee_bearer IS NOT NULL AND NEW.fee_bearer IS DISTINCT FROM OLD.fee_bearer)
     OR NEW.amount_minor <> OLD.amount_minor OR NEW.currency <> OLD.currency
     OR NEW.psp_dispute_id <> OLD.psp_dispute_id THEN
    RAISE EXCEPTION 'dispute %: booked amounts never change', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER disputes_guard BEFORE UPDATE ON disputes.disputes
  FOR EACH ROW EXECUTE FUNCTION disputes.guard_dispute();
CREATE TRIGGER disputes_no_delete BEFORE DELETE ON disputes.disputes
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

-- Per payment order of the disputed charge: its share of the dispute and of the fee, and which of the seller's
-- balances paid it (pending, available, reserved; receivable = what the seller now owes). A hosted checkout's
-- charge pays several orders, so one dispute may have several allocations. Written once with the withdrawal.
CREATE TABLE disputes.allocations (
  dispute_id        text NOT NULL REFERENCES disputes.disputes (id),
  payment_order_id  text NOT NULL,
  seller_account    text NOT NULL,
  amount_minor      bigint NOT NULL CHECK (amount_minor >= 0),
  seller_fee_minor  bigint NOT NULL CHECK (seller_fee_minor >= 0),
  from_pending      bigint NOT NULL CHECK (from_pending >= 0),
  from_available    bigint NOT NULL CHECK (from_available >= 0),
  from_reserved     bigint NOT NULL CHECK (from_reserved >= 0),
  from_receivable   bigint NOT NULL CHECK (from_receivable >= 0),
  PRIMARY KEY (dispute_id, payment_order_id),
  CHECK (from_pending + from_available + from_reserved + from_receivable = amount_minor + seller_fee_minor)
);
CREATE INDEX allocations_seller ON disputes.allocations (seller_account, dispute_id);
CREATE TRIGGER allocations_append_only BEFORE UPDATE OR DELETE ON disputes.allocations
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

CREATE TABLE disputes.status_history (
  id           bigserial PRIMARY KEY,
  dispute_id   text NOT NULL REFERENCES disputes.disputes (id),
  from_status  text,
  to_status    text NOT NULL,
  source       text NOT NULL CHECK (source IN ('webhook', 'poll', 'api')),
  psp_event_id text,
  details      jsonb NOT NULL DEFAULT '{}',
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_history_dispute ON disputes.status_history (dispute_id, id);
CREATE TRIGGER status_history_append_only BEFORE UPDATE OR DELETE ON disputes.status_history
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

-- The seller's dispute policy (docs/disputes.md): who bears the PSP's dispute fee. No row: the platform's default
-- (BURSAR_DISPUTE_FEE_BEARER). Read and written by the sellers module (src/sellers/dispute-policy.ts).
CREATE TABLE sellers.dispute_policy (
  seller_account text PRIMARY KEY REFERENCES sellers.sellers (seller_account),
  fee_bearer     text NOT NULL CHECK (fee_bearer IN ('seller', 'platform')),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
