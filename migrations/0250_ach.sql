-- US sellers paid by NACHA ACH files (issue 16, docs/payouts.md "NACHA ACH"): the seller's account holder type
-- (CCD for companies, PPD for individuals) and account type (checking or savings), ACH payout files beside the
-- pain.001 ones, the trace number of each ACH payout, the batches of each file (for bank-statement matching),
-- and notifications of change (NOC) the operator confirms or dismisses: bank details never change silently.

ALTER TABLE sellers.payout_settings
  ADD COLUMN ach_holder_type text CHECK (ach_holder_type IS NULL OR ach_holder_type IN ('company', 'individual')),
  ADD COLUMN ach_account_type text CHECK (ach_account_type IS NULL OR ach_account_type IN ('checking', 'savings'));

-- An ACH file has no debtor IBAN/BIC: its company identification and origin say who sends it.
ALTER TABLE payouts.payout_files DROP CONSTRAINT payout_files_format_check;
ALTER TABLE payouts.payout_files
  ADD CONSTRAINT payout_files_format_check CHECK (format IN ('pain.001.001.09', 'pain.001.001.03', 'nacha')),
  ALTER COLUMN debtor_iban DROP NOT NULL,
  ALTER COLUMN debtor_bic DROP NOT NULL,
  ADD COLUMN ach_company_id text,
  ADD COLUMN ach_file_id_modifier char(1) CHECK (ach_file_id_modifier IS NULL OR ach_file_id_modifier ~ '^[A-Z0-9]$'),
  ADD COLUMN ach_same_day boolean,
  ADD CONSTRAINT payout_files_kind_fields CHECK (
    (format = 'nacha' AND ach_company_id IS NOT NULL AND ach_file_id_modifier IS NOT NULL AND ach_same_day IS NOT NULL
       AND currency = 'USD')
    OR (format <> 'nacha' AND debtor_iban IS NOT NULL AND debtor_bic IS NOT NULL));
-- NACHA: the file id modifier tells apart the files of one origin and day.
CREATE UNIQUE INDEX payout_files_ach_modifier ON payouts.payout_files (run_date, ach_company_id, ach_file_id_modifier)
  WHERE format = 'nacha';

-- The 15-digit trace number (ODFI routing prefix + sequence) of an ACH payout is its provider_reference; returns
-- and NOCs name the original entry by it, so it is unique.
CREATE UNIQUE INDEX payouts_ach_trace ON payouts.payouts (provider_reference)
  WHERE provider = 'nacha' AND provider_reference IS NOT NULL;
ALTER TABLE payouts.payouts ADD CONSTRAINT payouts_ach_trace_shape
  CHECK (provider <> 'nacha' OR provider_reference IS NULL OR provider_reference ~ '^[0-9]{15}$');
-- The 7-digit entry sequence of trace numbers; cycles after 9,999,999 entries (decades at marketplace volume).
CREATE SEQUENCE payouts.ach_trace_seq MINVALUE 1 MAXVALUE 9999999 CYCLE;

-- One row per batch of an ACH file, written with it and never changed: what a bank statement line for the
-- batch (one debit of the batch's total) is matched against.
CREATE TABLE payouts.ach_batches (
  file_id           text NOT NULL REFERENCES payouts.payout_files (id),
  batch_number      integer NOT NULL CHECK (batch_number BETWEEN 1 AND 9999999),
  sec_code          text NOT NULL CHECK (sec_code IN ('CCD', 'PPD')),
  effective_date    date NOT NULL,
  entry_count       integer NOT NULL CHECK (entry_count > 0),
  total_credit_minor bigint NOT NULL CHECK (total_credit_minor > 0),
  PRIMARY KEY (file_id, batch_number)
);
CREATE TRIGGER ach_batches_append_only BEFORE UPDATE OR DELETE ON payouts.ach_batches
  FOR EACH ROW EXECUTE FUNCTION sellers.refuse_audit_change();
ALTER TABLE payouts.payouts ADD COLUMN ach_batch_number integer;
ALTER TABLE payouts.payouts ADD CONSTRAINT payouts_ach_batch_shape
  CHECK (ach_batch_number IS NULL OR (provider = 'nacha' AND payout_file_id IS NOT NULL));

-- Notifications of change: a receiving bank says the entry went through but the details should be corrected.
-- Kept for the operator to confirm (the corrected details become the seller's, audited) or dismiss. While one
-- is open the seller is not paid by the scheduled run.
CREATE TABLE sellers.bank_corrections (
  id                 text PRIMARY KEY CHECK (id ~ '^bc_[a-z0-9]{1,32}$'),
  seller_account     text NOT NULL REFERENCES sellers.sellers (seller_account),
  payout_id          text NOT NULL,
  change_code        text NOT NULL CHECK (change_code ~ '^C(0[1-9]|1[0-3])$'),
  corrected_data     text NOT NULL,
  -- The corrected fields parsed from corrected_data (account_number, routing_number, account_type, …).
  corrected          jsonb NOT NULL,
  source             text NOT NULL,
  status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
  note               text,
  resolved_by        text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  resolved_at        timestamptz,
  CHECK ((status = 'open') = (resolved_at IS NULL)),
  UNIQUE (payout_id, change_code, corrected_data)
);
CREATE INDEX bank_corrections_seller ON sellers.bank_corrections (seller_account, created_at, id);
CREATE INDEX bank_corrections_open ON sellers.bank_corrections (seller_account) WHERE status = 'open';
