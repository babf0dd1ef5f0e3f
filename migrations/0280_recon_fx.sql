-- Reconciliation of converted charges (docs/currencies.md "Reconciliation", docs/reconciliation.md "FX lines").
-- A PSP report line of a converted charge carries the amount the customer was charged (Stripe's
-- customer_facing_amount / customer_facing_currency) next to the settled gross in the settlement currency. The
-- settled amount is compared with what the ledger booked under fx_settled:<balance transaction>, and the outcome
-- of each such line is kept in recon.fx_lines.

-- The customer-facing (presentment) side of a report line, when the report has those columns. Both or neither.
ALTER TABLE recon.psp_lines
  ADD COLUMN customer_facing_currency char(3) CHECK (customer_facing_currency ~ '^[A-Z]{3}$'),
  ADD COLUMN customer_facing_minor bigint,
  ADD CONSTRAINT psp_lines_customer_facing_both
    CHECK ((customer_facing_currency IS NULL) = (customer_facing_minor IS NULL));

-- One row per converted charge line applied: what the PSP settled, what we booked, the difference and what
-- reconciliation did with it. Amounts are bigint minor units of the settlement currency; never floats.
CREATE TABLE recon.fx_lines (
  balance_transaction_id text PRIMARY KEY,
  import_id              text NOT NULL REFERENCES recon.imports (id),
  line                   integer NOT NULL,
  run_id                 text NOT NULL REFERENCES recon.runs (id),
  kind                   text NOT NULL
    CHECK (kind IN ('fx_matched', 'fx_difference_booked', 'fx_difference', 'fx_settlement_unbooked')),
  presentment_currency   char(3) NOT NULL CHECK (presentment_currency ~ '^[A-Z]{3}$'),
  presentment_minor      bigint NOT NULL CHECK (presentment_minor > 0),
  settlement_currency    char(3) NOT NULL
    CHECK (settlement_currency ~ '^[A-Z]{3}$' AND settlement_currency <> presentment_currency),
  -- The PSP's settled gross (the report line's gross) and what the ledger booked for it (psp_clearing debit of
  -- fx_settled:<balance transaction>); none booked for fx_settlement_unbooked.
  reported_minor         bigint NOT NULL CHECK (reported_minor > 0),
  booked_minor           bigint CHECK (booked_minor > 0),
  difference_minor       bigint,
  tolerance_bps          integer NOT NULL CHECK (tolerance_bps BETWEEN 0 AND 10000),
  -- The entry that booked the difference (fx_difference_booked only).
  entry_reference        text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'fx_settlement_unbooked') = (booked_minor IS NULL)),
  CHECK ((booked_minor IS NULL AND difference_minor IS NULL)
         OR difference_minor = reported_minor - booked_minor),
  CHECK (kind <> 'fx_matched' OR difference_minor = 0),
  CHECK (kind NOT IN ('fx_difference_booked', 'fx_difference') OR difference_minor <> 0),
  -- Within the tolerance is booked, beyond it is an exception: the same arithmetic as the code, in numeric.
  CHECK (kind <> 'fx_difference_booked'
         OR abs(difference_minor::numeric) * 10000 <= tolerance_bps::numeric * booked_minor::numeric),
  CHECK (kind <> 'fx_difference'
         OR abs(difference_minor::numeric) * 10000 > tolerance_bps::numeric * booked_minor::numeric),
  CHECK ((kind = 'fx_difference_booked') = (entry_reference IS NOT NULL)),
  CHECK (entry_reference IS NULL OR entry_reference = 'fx_difference:' || balance_transaction_id)
);
CREATE INDEX fx_lines_created ON recon.fx_lines (created_at);
CREATE INDEX fx_lines_run ON recon.fx_lines (run_id);
