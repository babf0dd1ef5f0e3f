-- Reconciliation: imported settlement files (PSP reports, bank statements) staged line by line, the lines and
-- payouts already matched, the runs with their reports, and the exceptions with their append-only history.
CREATE SCHEMA IF NOT EXISTS recon;

-- One row per imported file. The fingerprint (SHA-256 of the bytes) is unique per source, so the same file
-- imported twice is recognised and not applied twice. A file is staged completely, in one transaction, before
-- anything of it is applied: a malformed file leaves no row at all.
CREATE TABLE recon.imports (
  id             text PRIMARY KEY CHECK (id ~ '^rimp_[A-Za-z0-9]+$'),
  source         text NOT NULL CHECK (source IN ('psp', 'bank')),
  format         text NOT NULL CHECK (format IN ('psp_csv', 'camt.053', 'camt.054', 'camt')),
  fingerprint    bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
  name           text NOT NULL,
  origin         text NOT NULL CHECK (origin IN ('file', 'api', 'psp_fetch')),
  lines          bigint NOT NULL DEFAULT 0,
  -- The span of PSP activity the report covers (given when fetched; else the first and last line's time).
  interval_start timestamptz,
  interval_end   timestamptz,
  status         text NOT NULL DEFAULT 'staged' CHECK (status IN ('staged', 'applied')),
  run_id         text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  applied_at     timestamptz,
  UNIQUE (source, fingerprint)
);

CREATE TABLE recon.psp_lines (
  import_id              text NOT NULL REFERENCES recon.imports (id),
  line                   integer NOT NULL,
  balance_transaction_id text NOT NULL,
  category               text NOT NULL,
  currency               char(3) NOT NULL,
  gross_minor            bigint NOT NULL,
  fee_minor              bigint NOT NULL,
  net_minor              bigint NOT NULL,
  created_at             timestamptz,
  available_on           timestamptz,
  source_id              text,
  charge_id              text,
  payment_intent_id      text,
  payout_id              text,
  payout_effective_at    timestamptz,
  description            text,
  dispute_reason         text,
  metadata               jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (import_id, line),
  CHECK (net_minor = gross_minor - fee_minor)
);

-- One row per bank transaction (an entry's TxDtls, or the entry itself when it has one or none).
CREATE TABLE recon.bank_lines (
  import_id      text NOT NULL REFERENCES recon.imports (id),
  seq            integer NOT NULL,
  line           integer NOT NULL,
  message_type   text NOT NULL,
  statement_id   text NOT NULL,
  account        text,
  entry_index    integer NOT NULL,
  tx_index       integer NOT NULL,
  amount_minor   bigint NOT NULL CHECK (amount_minor >= 0),
  currency       char(3) NOT NULL,
  credit_debit   text NOT NULL CHECK (credit_debit IN ('CRDT', 'DBIT')),
  reversal       boolean NOT NULL,
  status         text NOT NULL,
  booking_date   text,
  entry_ref      text,
  acct_svcr_ref  text,
  end_to_end_id  text,
  bank_code      text,
  return_code    text,
  return_info    text,
  remittance     text,
  seen_key       text NOT NULL,
  PRIMARY KEY (import_id, seq)
);

-- Every PSP balance transaction and bank line applied once: a second sighting is "a line seen twice".
CREATE TABLE recon.psp_seen (
  balance_transaction_id text PRIMARY KEY,
  import_id              text NOT NULL,
  line                   integer NOT NULL
);
CREATE TABLE recon.bank_seen (
  seen_key   text PRIMARY KEY,
  import_id  text NOT NULL,
  seq        integer NOT NULL
);

-- Which PSP line matched each payment order (a success of ours with no line after the window is an exception).
CREATE TABLE recon.order_matches (
  payment_order_id       text PRIMARY KEY,
  balance_transaction_id text NOT NULL,
  import_id              text NOT NULL,
  line                   integer NOT NULL
);

-- The PSP's payouts to the platform's bank account, from its report, and the bank line that received each.
CREATE TABLE recon.psp_payouts (
  id              text PRIMARY KEY,
  currency        char(3) NOT NULL,
  amount_minor    bigint NOT NULL,
  effective_at    timestamptz,
  import_id       text NOT NULL,
  line            integer NOT NULL,
  bank_import_id  text,
  bank_seq        integer
);
CREATE INDEX psp_payouts_open ON recon.psp_payouts (currency, amount_minor) WHERE bank_import_id IS NULL;

CREATE TABLE recon.runs (
  id           text PRIMARY KEY CHECK (id ~ '^rrun_[A-Za-z0-9]+$'),
  kind         text NOT NULL CHECK (kind IN ('psp', 'bank', 'internal', 'daily')),
  trigger      text NOT NULL,
  status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  import_ids   text[] NOT NULL DEFAULT '{}',
  report       jsonb,
  error        text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);

CREATE TABLE recon.exceptions (
  id               text PRIMARY KEY CHECK (id ~ '^rexc_[A-Za-z0-9]+$'),
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  run_id           text REFERENCES recon.runs (id),
  class            text NOT NULL CHECK (class IN ('auto_fixed', 'finance', 'investigation')),
  kind             text NOT NULL,
  cause            text NOT NULL,
  evidence         jsonb NOT NULL,
  status           text NOT NULL CHECK (status IN ('open', 'fixed', 'resolved')),
  currency         char(3),
  amount_minor     bigint,
  -- The same difference found again (a re-run, an overlapping report) is recognised, not filed twice.
  dedupe_key       text NOT NULL UNIQUE,
  fix              jsonb,
  resolution_note  text,
  resolved_by      text,
  resolved_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'fixed' OR (class = 'auto_fixed' AND fix IS NOT NULL)),
  CHECK (status <> 'resolved' OR (resolution_note IS NOT NULL AND resolved_by IS NOT NULL))
);
CREATE INDEX exceptions_listing ON recon.exceptions (seq DESC);
CREATE INDEX exceptions_status ON recon.exceptions (status, class, kind, seq DESC);
CREATE INDEX exceptions_run ON recon.exceptions (run_id, seq DESC);

-- What happened to each exception: created, auto-fixed, resolved, reopened. Append-only.
CREATE TABLE recon.exception_events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  exception_id  text NOT NULL REFERENCES recon.exceptions (id),
  at            timestamptz NOT NULL DEFAULT now(),
  action        text NOT NULL CHECK (action IN ('created', 'auto_fixed', 'resolved', 'reopened')),
  actor         text NOT NULL,
  note          text
);
CREATE INDEX exception_events_exception ON recon.exception_events (exception_id, id);
CREATE TRIGGER exception_events_append_only BEFORE UPDATE OR DELETE ON recon.exception_events
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

-- Reconciliation finds orders by the PSP's payment id when a report line carries no metadata of ours.
CREATE INDEX IF NOT EXISTS payment_order_psp_payment ON payins.payment_order (psp_payment_id)
  WHERE psp_payment_id IS NOT NULL;
