-- Pay-outs (docs/payouts.md): seller payout settings and their audit, pay-in holds, payouts with their status
-- history, the payout run's per-seller markers, ISO 20022 payout files, and provider events.

-- One row per seller that has payout settings; a seller without a row has the defaults (docs/payouts.md).
CREATE TABLE sellers.payout_settings (
  seller_account        text PRIMARY KEY REFERENCES sellers.sellers (seller_account),
  account_holder_name   text CHECK (account_holder_name IS NULL OR length(account_holder_name) BETWEEN 1 AND 140),
  iban                  text CHECK (iban IS NULL OR iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
  bic                   text CHECK (bic IS NULL OR bic ~ '^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$'),
  account_number        text CHECK (account_number IS NULL OR account_number ~ '^[0-9]{4,17}$'),
  routing_number        text CHECK (routing_number IS NULL OR routing_number ~ '^[0-9]{9}$'),
  schedule_interval     text NOT NULL DEFAULT 'monthly'
                          CHECK (schedule_interval IN ('monthly', 'weekly', 'daily', 'manual')),
  -- Monthly: the day of the month (a month shorter than it pays on its last day). Weekly: 1 = Monday … 7 = Sunday.
  schedule_day          smallint DEFAULT 1 CHECK (schedule_day IS NULL OR schedule_day BETWEEN 1 AND 31),
  minimum_amount_minor  bigint NOT NULL DEFAULT 0 CHECK (minimum_amount_minor >= 0),
  reserve_type          text NOT NULL DEFAULT 'none' CHECK (reserve_type IN ('none', 'percentage', 'fixed')),
  reserve_basis_points  bigint NOT NULL DEFAULT 0 CHECK (reserve_basis_points BETWEEN 0 AND 10000),
  reserve_fixed_minor   bigint NOT NULL DEFAULT 0 CHECK (reserve_fixed_minor >= 0),
  hold_days             integer NOT NULL DEFAULT 7 CHECK (hold_days BETWEEN 0 AND 365),
  -- Per-seller platform fee override; NULL: the platform's default policy.
  fee_basis_points      bigint CHECK (fee_basis_points IS NULL OR fee_basis_points BETWEEN 0 AND 10000),
  fee_fixed_minor       bigint CHECK (fee_fixed_minor IS NULL OR fee_fixed_minor >= 0),
  -- Set when a payout came back (closed account, invalid IBAN); cleared when bank details change.
  needs_bank_details    boolean NOT NULL DEFAULT false,
  needs_bank_details_reason text,
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CHECK ((iban IS NULL) = (bic IS NULL)),
  CHECK ((account_number IS NULL) = (routing_number IS NULL)),
  CHECK (iban IS NULL OR account_number IS NULL),
  CHECK (schedule_interval NOT IN ('monthly', 'weekly') OR schedule_day IS NOT NULL),
  CHECK (schedule_interval <> 'weekly' OR schedule_day BETWEEN 1 AND 7)
);
CREATE INDEX payout_settings_schedule ON sellers.payout_settings (schedule_interval, schedule_day);

-- Every change of bank details, in the transaction that made it; account numbers are kept masked.
CREATE TABLE sellers.bank_details_audit (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seller_account  text NOT NULL REFERENCES sellers.sellers (seller_account),
  api_key_id      text,
  before          jsonb,
  after           jsonb,
  changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bank_details_audit_seller ON sellers.bank_details_audit (seller_account, id);

CREATE OR REPLACE FUNCTION sellers.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER bank_details_audit_append_only BEFORE UPDATE OR DELETE ON sellers.bank_details_audit
  FOR EACH ROW EXECUTE FUNCTION sellers.refuse_audit_change();

CREATE SCHEMA payouts;

-- One row per successful pay-in credited to a seller's pending balance, written in the pay-in's transaction;
-- released (pending → available) on or after `available_on` by the availability job.
CREATE TABLE payouts.holds (
  payment_order_id  text PRIMARY KEY,
  seller_account    text NOT NULL,
  currency          char(3) NOT NULL,
  amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
  succeeded_at      timestamptz NOT NULL,
  available_on      date NOT NULL,
  released_at       timestamptz,
  release_entry_id  text
);
CREATE INDEX holds_due ON payouts.holds (available_on, payment_order_id) WHERE released_at IS NULL;
CREATE INDEX holds_seller ON payouts.holds (seller_account);

CREATE TABLE payouts.payout_files (
  id               text PRIMARY KEY,
  run_date         date NOT NULL,
  format           text NOT NULL CHECK (format IN ('pain.001.001.09', 'pain.001.001.03')),
  message_id       text NOT NULL UNIQUE,
  debtor_iban      text NOT NULL,
  debtor_bic       text NOT NULL,
  debtor_name      text NOT NULL,
  currency         char(3) NOT NULL,
  tx_count         integer NOT NULL DEFAULT 0,
  ctrl_sum_minor   bigint NOT NULL DEFAULT 0,
  size_bytes       bigint NOT NULL DEFAULT 0,
  sha256           text,
  status           text NOT NULL DEFAULT 'writing' CHECK (status IN ('writing', 'complete')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz
);
CREATE INDEX payout_files_created ON payouts.payout_files (created_at DESC, id);

-- The file's bytes, in order. Written while the file is produced, then never changed.
CREATE TABLE payouts.payout_file_chunks (
  file_id  text NOT NULL REFERENCES payouts.payout_files (id),
  seq      integer NOT NULL CHECK (seq >= 0),
  data     bytea NOT NULL,
  PRIMARY KEY (file_id, seq)
);

CREATE OR REPLACE FUNCTION payouts.guard_file() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'payout files are never deleted';
  END IF;
  IF OLD.status = 'complete' THEN
    RAISE EXCEPTION 'payout file % is complete and never rewritten', OLD.id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER payout_files_guard BEFORE UPDATE OR DELETE ON payouts.payout_files
  FOR EACH ROW EXECUTE FUNCTION payouts.guard_file();

CREATE OR REPLACE FUNCTION payouts.guard_chunk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION 'payout file chunks are never changed';
  END IF;
  IF EXISTS (SELECT 1 FROM payouts.payout_files WHERE id = NEW.file_id AND status = 'complete') THEN
    RAISE EXCEPTION 'payout file % is complete and never rewritten', NEW.file_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER payout_file_chunks_guard BEFORE INSERT OR UPDATE OR DELETE ON payouts.payout_file_chunks
  FOR EACH ROW EXECUTE FUNCTION payouts.guard_chunk();

CREATE TABLE payouts.payouts (
  id                  text PRIMARY KEY CHECK (id ~ '^po_[a-z0-9]{1,32}$'),
  seller_account      text NOT NULL REFERENCES sellers.sellers (seller_account),
  currency            char(3) NOT NULL,
  amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
  status              text NOT NULL CHECK (status IN ('pending', 'in_transit', 'paid', 'returned')),
  source              text NOT NULL CHECK (source IN ('scheduled', 'manual')),
  -- The run's date for a scheduled payout: at most one per seller and date (the run's idempotency).
  run_date            date,
  provider            text NOT NULL,
  provider_reference  text,
  payout_file_id      text REFERENCES payouts.payout_files (id),
  -- The bank details as they were when the payout was made.
  destination         jsonb NOT NULL,
  return_reason       text,
  ledger_entry_id     text NOT NULL,
  api_key_id          text,
  idempotency_key     text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((source = 'scheduled') = (run_date IS NOT NULL))
);
CREATE UNIQUE INDEX payouts_seller_period ON payouts.payouts (seller_account, run_date) WHERE source = 'scheduled';
CREATE UNIQUE INDEX payouts_idempotency ON payouts.payouts (api_key_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX payouts_seller ON payouts.payouts (seller_account, created_at DESC, id);
CREATE INDEX payouts_unfiled ON payouts.payouts (provider, currency, id) WHERE status = 'pending';
CREATE INDEX payouts_file ON payouts.payouts (payout_file_id, id) WHERE payout_file_id IS NOT NULL;

-- Append-only: every status a payout took, why, and what said so (a run, a file, a webhook, a statement line).
CREATE TABLE payouts.status_history (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payout_id   text NOT NULL REFERENCES payouts.payouts (id),
  from_status text,
  to_status   text NOT NULL,
  reason      text,
  source      text NOT NULL,
  reference   text,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_history_payout ON payouts.status_history (payout_id, id);
CREATE TRIGGER status_history_append_only BEFORE UPDATE OR DELETE ON payouts.status_history
  FOR EACH ROW EXECUTE FUNCTION sellers.refuse_audit_change();

-- The payout run's marker: one row per seller and run date, written in the transaction that decided for that
-- seller. A second run (or a concurrent one) finds the row and does nothing for the seller.
CREATE TABLE payouts.seller_runs (
  seller_account  text NOT NULL,
  run_date        date NOT NULL,
  outcome         text NOT NULL,
  payout_id       text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (seller_account, run_date)
);

-- Replies of POST /v1/payouts, per API key and Idempotency-Key, written in the transaction that made the payout.
CREATE TABLE payouts.idempotency_keys (
  api_key_id       text NOT NULL,
  idempotency_key  text NOT NULL,
  fingerprint      bytea NOT NULL,
  response_status  integer NOT NULL,
  response_body    jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (api_key_id, idempotency_key)
);

-- Payout-provider webhook events, stored once before they are acted on.
CREATE TABLE payouts.provider_events (
  event_id      text PRIMARY KEY,
  provider      text NOT NULL,
  type          text NOT NULL,
  payout_id     text,
  payload       jsonb NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  processed_at  timestamptz
);
