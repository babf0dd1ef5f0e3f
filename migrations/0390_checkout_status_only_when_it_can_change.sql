-- Throughput (issue 17, docs/performance.md "Eighth pass"): the checkout's stored status (0170_read_api.sql,
-- refreshed per statement since 0340) is refreshed only for the orders whose change can move it. Until now the
-- POST's insert of a saved-method checkout and the executor's claim of its orders (NOT_STARTED -> EXECUTING) each
-- locked the checkout row (FOR UPDATE: a heap write and a WAL record) and recomputed its status, to find it
-- unchanged: 'processing'.
--
-- What the status can be (payins.checkout_status_of): 'succeeded', 'failed' or 'partially_succeeded' once every
-- order is final (SUCCESS or FAILED); 'requires_action' for a hosted-page checkout with a session URL and an order
-- EXECUTING; 'processing' otherwise. So, for a checkout that is not a hosted page:
-- - an order that enters a status that is not final (NOT_STARTED, EXECUTING, PENDING) leaves it not all final,
--   hence 'processing' after the statement; before it, that order was not final either (a final status never
--   changes: payment_order_forward_only), hence 'processing' as well. Nothing to refresh.
-- - orders inserted with a status that is not final leave it 'processing'. Its stored status is 'processing'
--   already unless the checkout held only final orders before (then it reads 'succeeded'…): refreshed then.
-- Hosted-page checkouts, and every order reaching a final status, are refreshed as before.
-- test/store/payins-checkout-status.test.ts holds the stored status equal to checkout_status_of through random
-- sequences of inserts and transitions of both flows.
--
-- The checkouts are looked up by their primary key from an array of ids (`= ANY`), never joined to the transition
-- tables: a join or an EXISTS under OR let the planner hash all of payment_event for every statement.
CREATE OR REPLACE FUNCTION payins.checkout_status_on_order_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM payins.refresh_checkout_status(ARRAY(
    SELECT e.checkout_id FROM payins.payment_event e
     WHERE e.checkout_id = ANY (ARRAY(SELECT DISTINCT checkout_id FROM inserted_orders))
       AND (e.flow = 'hosted_page' OR e.status <> 'processing'
            OR e.checkout_id = ANY (ARRAY(SELECT checkout_id FROM inserted_orders
                                           WHERE payment_order_status IN ('SUCCESS', 'FAILED'))))));
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION payins.checkout_status_on_order_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  to_final text[];
  to_open text[];
BEGIN
  SELECT array_agg(DISTINCT n.checkout_id) FILTER (WHERE n.payment_order_status IN ('SUCCESS', 'FAILED')),
         array_agg(DISTINCT n.checkout_id) FILTER (WHERE n.payment_order_status NOT IN ('SUCCESS', 'FAILED'))
    INTO to_final, to_open
    FROM updated_orders n JOIN previous_orders o USING (payment_order_id)
   WHERE n.payment_order_status IS DISTINCT FROM o.payment_order_status;
  PERFORM payins.refresh_checkout_status(ARRAY(
    SELECT unnest(to_final)
    UNION
    SELECT checkout_id FROM payins.payment_event WHERE checkout_id = ANY (to_open) AND flow = 'hosted_page'));
  RETURN NULL;
END $$;
