-- ACH return/notification-of-change files read by reconciliation (docs/reconciliation.md "The daily run",
-- docs/payouts.md "NACHA ACH"): each file by its SHA-256, so the daily run reads a file left in
-- BURSAR_RECON_BANK_DIR once, and the run that applied it. Append-only.
CREATE TABLE recon.ach_files (
  sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  name        text NOT NULL,
  run_id      text NOT NULL REFERENCES recon.runs (id),
  entries     integer NOT NULL CHECK (entries >= 0),
  unmatched   integer NOT NULL CHECK (unmatched >= 0 AND unmatched <= entries),
  read_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER ach_files_append_only BEFORE UPDATE OR DELETE ON recon.ach_files
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
