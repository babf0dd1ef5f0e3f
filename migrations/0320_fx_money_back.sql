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
