-- The orders table is the executor's queue (issue 17, docs/performance.md "Sixth pass"). Until now every saved-method
-- order had a pg-boss job beside it: inserted by the checkout's POST, fetched (one transaction) and completed (one
-- more) by the worker, then archived and deleted by pg-boss's maintenance. The order row already carried everything
-- the executor needs; `execute_at` says when it is due to be executed, and is NULL while it is not queued.
--
-- Set: to now() by the POST of a saved-method checkout; to the retry's due time when an attempt failed
-- transiently; to now() by the sweeper's hand-back, a stopping worker's hand-back and a dead letter's replay.
-- Cleared: by the claim (in the transaction that counts the attempt), so a claimed order is not taken twice.
ALTER TABLE payins.payment_order ADD COLUMN execute_at timestamptz;

-- The executor's take: due orders by due time, `FOR UPDATE SKIP LOCKED`. Only queued orders are in the index.
CREATE INDEX payment_order_execute_due ON payins.payment_order (execute_at) WHERE execute_at IS NOT NULL;

-- Saved-method orders not yet started when this migration runs had a pg-boss job; they are queued now instead. An
-- order already EXECUTING (an attempt in flight, or a retry waiting for its job) is left to the sweeper, which
-- asks the PSP before it hands the order back to the executor: the same path as an attempt whose worker died.
UPDATE payins.payment_order o SET execute_at = now()
  FROM payins.payment_event c
 WHERE c.checkout_id = o.checkout_id
   AND c.flow = 'saved_method'
   AND o.payment_order_status = 'NOT_STARTED'
   AND NOT o.needs_attention;
