-- Reconciliation an operator can run daily (docs/reconciliation.md): every run stores the interval of activity it
-- covers (the report's own day for a fetch; else the span of the lines it read), and camt.052 intraday reports
-- are imported like camt.053/054.

ALTER TABLE recon.runs
  ADD COLUMN interval_start timestamptz,
  ADD COLUMN interval_end timestamptz,
  ADD CONSTRAINT runs_interval_order CHECK (interval_start IS NULL OR interval_end IS NULL OR interval_end >= interval_start);

ALTER TABLE recon.imports DROP CONSTRAINT imports_format_check;
ALTER TABLE recon.imports
  ADD CONSTRAINT imports_format_check CHECK (format IN ('psp_csv', 'camt.052', 'camt.053', 'camt.054', 'camt'));
