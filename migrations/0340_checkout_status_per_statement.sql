-- Throughput (issue 17, docs/performance.md): the checkout's stored status (0170_read_api.sql) is kept once per
-- statement instead of once per order row. A settle or claim batch changes the statuses of many orders in one
-- UPDATE; the row trigger recomputed a checkout's status for each of them, the largest server cost of a checkout
-- in the payins bench. The statement triggers below recompute each touched checkout once per statement, and on
-- UPDATE only the checkouts of orders whose status changed. The checkouts are locked in id order first, so two
-- statements touching the same checkouts wait for each other instead of deadlocking.
DROP TRIGGER payment_order_checkout_status ON payins.payment_order;
DROP FUNCTION payins.checkout_status_on_order();

CREATE FUNCTION payins.refresh_checkout_status(p_checkouts text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(p_checkouts) = 0 THEN RETURN; END IF;
  PERFORM 1 FROM payins.payment_event WHERE checkout_id = ANY (p_checkouts) ORDER BY checkout_id FOR UPDATE;
  UPDATE payins.payment_event e SET status = status
   WHERE e.checkout_id = ANY (p_checkouts)
     AND e.status IS DISTINCT FROM payins.checkout_status_of(e.checkout_id, e.flow, e.psp_session_url);
END $$;

CREATE FUNCTION payins.checkout_status_on_order_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM payins.refresh_checkout_status(ARRAY(SELECT DISTINCT checkout_id FROM inserted_orders));
  RETURN NULL;
END $$;
CREATE TRIGGER payment_order_checkout_status_insert AFTER INSERT ON payins.payment_order
  REFERENCING NEW TABLE AS inserted_orders
  FOR EACH STATEMENT EXECUTE FUNCTION payins.checkout_status_on_order_insert();

CREATE FUNCTION payins.checkout_status_on_order_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM payins.refresh_checkout_status(ARRAY(
    SELECT DISTINCT n.checkout_id FROM updated_orders n JOIN previous_orders o USING (payment_order_id)
     WHERE n.payment_order_status IS DISTINCT FROM o.payment_order_status));
  RETURN NULL;
END $$;
CREATE TRIGGER payment_order_checkout_status_update AFTER UPDATE ON payins.payment_order
  REFERENCING OLD TABLE AS previous_orders NEW TABLE AS updated_orders
  FOR EACH STATEMENT EXECUTE FUNCTION payins.checkout_status_on_order_update();
