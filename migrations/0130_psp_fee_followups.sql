-- The PSP fee follow-up (docs/payins.md "The PSP's fee"): when a payment settles SUCCESS but the PSP could not
-- say its fee (the look-up failed transiently), the settling transaction records it here, and the pay-in
-- worker's `psp_fees` step asks the PSP again later, outside any transaction, and books the fee in the
-- transaction that deletes the row. One row per PSP charge: a hosted checkout's session, or a saved-method order.
-- A row kept with `gave_up_at` set ran out of attempts and is left to reconciliation.
CREATE TABLE payins.psp_fee_pending (
  subject          text PRIMARY KEY,  -- 'session:<cs_…>' or 'order:<payment order id>'
  checkout_id      text NOT NULL REFERENCES payins.payment_event (checkout_id),
  payment_order_id text REFERENCES payins.payment_order (payment_order_id),
  psp_session_id   text,
  psp_payment_id   text,
  fee_attempts     integer NOT NULL DEFAULT 0 CHECK (fee_attempts >= 0),
  next_fee_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  gave_up_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (psp_session_id IS NOT NULL OR psp_payment_id IS NOT NULL)
);

CREATE INDEX psp_fee_pending_due ON payins.psp_fee_pending (next_fee_attempt_at) WHERE gave_up_at IS NULL;
