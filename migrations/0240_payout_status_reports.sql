-- pain.002 payment status reports (docs/payouts.md): each report read once (by its SHA-256), and the bank's
-- latest status of each payout with its reason. A rejection also returns the payout (payouts.status_history and
-- the ledger say so); an acceptance only records the bank's word here.

CREATE TABLE payouts.status_reports (
  sha256              text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  message_id          text,
  original_message_id text NOT NULL,
  -- The payout file it answers; NULL when Bursar never sent that file (an exception for investigation).
  payout_file_id      text REFERENCES payouts.payout_files (id),
  group_status        text CHECK (group_status IS NULL OR group_status ~ '^[A-Z]{4}$'),
  source_name         text NOT NULL,
  summary             jsonb NOT NULL,
  read_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_reports_file ON payouts.status_reports (payout_file_id);

CREATE TABLE payouts.bank_status (
  payout_id      text PRIMARY KEY REFERENCES payouts.payouts (id),
  -- ISO 20022 ExternalPaymentTransactionStatus1Code: ACCP, ACSC, ACWC, ACTC, ACSP, PDNG, RCVD, RJCT, …
  status         text NOT NULL CHECK (status ~ '^[A-Z]{4}$'),
  reason         text,
  -- The report that said so (payouts.status_reports.sha256; that row is written once the report is applied).
  report_sha256  text NOT NULL CHECK (report_sha256 ~ '^[0-9a-f]{64}$'),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
