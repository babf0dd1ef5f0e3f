-- Refunds and disputes of converted orders (docs/currencies.md "Refunds and disputes"): money going back comes
-- back at the order's own rate in the seller's currency, and the PSP's conversion of it is booked as FX gain or
-- loss. Forward-only; no existing row changes meaning.

-- A refund whose PSP conversion (its balance transaction, or its failure's) is still to be booked: the answer
-- that settled it did not carry it. The refund worker's FX follow-up asks the PSP, with a bounded backoff.
ALTER TABLE refunds.refunds
  ADD COLUMN fx_due boolean NOT NULL DEFAULT false,
  ADD COLUMN next_fx_at timestamptz,
  ADD COLUMN fx_attempts integer NOT NULL DEFAULT 0 CHECK (fx_attempts >= 0),
  ADD CONSTRAINT refunds_fx_due_scheduled CHECK (NOT fx_due OR next_fx_at IS NOT NULL);
CREATE INDEX refunds_fx_due ON refunds.refunds (next_fx_at) WHERE fx_due;

-- A dispute on a charge the PSP settled in another currency: the PSP charges (and returns) its dispute fee in its
-- own (settlement) currency, fee_currency; NULL is the dispute's currency, as before. withdrawn_minor and
-- reinstated_minor stay in the dispute's currency (what the buyer's bank pulled back and gave back).
ALTER TABLE disputes.disputes
  ADD COLUMN fee_currency char(3) CHECK (fee_currency ~ '^[A-Z]{3}$');

-- An order whose seller was credited in another currency (converted): its share of the dispute was taken in that
-- currency at the order's own rate, booked_minor of it; the from_* parts and seller_fee_minor are in that currency.
-- NULL: the dispute's currency, amount_minor, as before.
ALTER TABLE disputes.allocations
  ADD COLUMN currency char(3) CHECK (currency ~ '^[A-Z]{3}$'),
  ADD COLUMN booked_minor bigint CHECK (booked_minor >= 0),
  ADD CONSTRAINT allocations_converted_both CHECK ((currency IS NULL) = (booked_minor IS NULL)),
  DROP CONSTRAINT allocations_check,
  ADD CONSTRAINT allocations_taken_adds_up
    CHECK (from_pending + from_available + from_reserved + from_receivable
           = coalesce(booked_minor, amount_minor) + seller_fee_minor);

-- Reconciliation compares refund, refund failure, dispute and dispute reversal lines of converted charges in the
-- settlement currency too (docs/currencies.md "Reconciliation"): recon.fx_lines keeps each line's reporting
-- category. Its amounts stay magnitudes (money out as well as in); difference_minor = reported − booked, so on
-- money going out a negative difference is the PSP taking less than booked.
ALTER TABLE recon.fx_lines
  ADD COLUMN reporting_category text NOT NULL DEFAULT 'charge'
    CHECK (reporting_category IN ('charge', 'payment', 'refund', 'refund_failure', 'dispute', 'dispute_reversal'));
