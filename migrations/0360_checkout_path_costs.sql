-- What a checkout costs the server (issue 17, docs/performance.md "Fifth pass"): two changes, no change of meaning.
--
-- 1. The checkout's status function (0170_read_api.sql) becomes PL/pgSQL with the same query. As a SQL function
--    that cannot be inlined (it aggregates), it was parsed and planned again by every statement that called it:
--    the insert trigger of every checkout's orders, each settle and claim batch's status refresh, and the row
--    trigger of every update of a checkout. PL/pgSQL keeps the plan for the session. On the machine's PostgreSQL
--    15, the POST's insert of a checkout with one order went from 0.70 to 0.44 ms of server time.
CREATE OR REPLACE FUNCTION payins.checkout_status_of(p_checkout text, p_flow text, p_session_url text)
  RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (
    SELECT CASE
      WHEN bool_and(payment_order_status IN ('SUCCESS', 'FAILED')) IS NOT FALSE THEN
        CASE WHEN bool_and(payment_order_status = 'SUCCESS') IS NOT FALSE THEN 'succeeded'
             WHEN bool_and(payment_order_status = 'FAILED') THEN 'failed'
             ELSE 'partially_succeeded' END
      WHEN p_flow = 'hosted_page' AND p_session_url IS NOT NULL
           AND bool_or(payment_order_status = 'EXECUTING') THEN 'requires_action'
      ELSE 'processing' END
    FROM payins.payment_order WHERE checkout_id = p_checkout);
END $$;

-- 2. Indexes that another index already serves, each a write on every insert (and on every non-HOT update) of
--    its table for no read that the other does not answer:
--    - payment_order_checkout (checkout_id, position) is the same as the unique constraint's index on those columns;
--    - payment_event_buyer (buyer id, created_at) is a prefix of payment_event_list_buyer (… , checkout_id);
--    - holds_seller (seller_account) is a prefix of holds_seller_currency (seller_account, currency), and a hold is
--      written for every successful pay-in;
--    - exceptions_listing (seq DESC) is the unique index on seq read backwards.
-- test/store/schema-indexes.test.ts keeps new ones from coming back.
DROP INDEX payins.payment_order_checkout;
DROP INDEX payins.payment_event_buyer;
DROP INDEX payouts.holds_seller;
DROP INDEX recon.exceptions_listing;
