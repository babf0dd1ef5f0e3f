-- Checkout invariants kept twice: the application validates them (src/payins/validate.ts), and the database
-- refuses what breaks them, as it does for an unbalanced journal entry (0010_ledger.sql).

-- The flow and the stored payment details agree: a saved method carries only its PSP token; a hosted page
-- carries its flow marker and the return URL, never a payment method.
ALTER TABLE payins.payment_event ADD CONSTRAINT payment_event_flow_matches_details CHECK (
  jsonb_typeof(credit_card_info) = 'object' AND CASE flow
    WHEN 'saved_method' THEN
      coalesce(jsonb_typeof(credit_card_info -> 'payment_method') = 'string', false)
      AND NOT credit_card_info ? 'flow' AND NOT credit_card_info ? 'return_url'
    WHEN 'hosted_page' THEN
      coalesce(credit_card_info ->> 'flow' = 'hosted_page', false)
      AND coalesce(jsonb_typeof(credit_card_info -> 'return_url') = 'string', false)
      AND NOT credit_card_info ? 'payment_method'
    ELSE false
  END);

-- At commit, once per checkout touched: it has at least one order, its orders are all in its currency, and
-- their amounts add up to its total.
CREATE FUNCTION payins.check_checkout_orders() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  target_id text := NEW.checkout_id;
  checkout record;
  order_count bigint;
  order_sum numeric;
  foreign_currency text;
BEGIN
  SELECT currency, total_minor INTO checkout FROM payins.payment_event WHERE checkout_id = target_id;
  IF NOT FOUND THEN
    RETURN NULL;  -- the foreign key of payment_order speaks for a missing checkout
  END IF;
  SELECT count(*), coalesce(sum(amount_minor), 0), min(currency) FILTER (WHERE currency <> checkout.currency)
    INTO order_count, order_sum, foreign_currency
    FROM payins.payment_order WHERE checkout_id = target_id;
  IF order_count = 0 THEN
    RAISE EXCEPTION 'checkout % has no payment orders', target_id USING ERRCODE = 'check_violation';
  END IF;
  IF foreign_currency IS NOT NULL THEN
    RAISE EXCEPTION 'checkout % is in % but has an order in %', target_id, checkout.currency, foreign_currency
      USING ERRCODE = 'check_violation';
  END IF;
  IF order_sum <> checkout.total_minor THEN
    RAISE EXCEPTION 'checkout % totals % but its orders add up to %', target_id, checkout.total_minor, order_sum
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER payment_event_orders_add_up AFTER INSERT OR UPDATE OF total_minor, currency
  ON payins.payment_event DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION payins.check_checkout_orders();
CREATE CONSTRAINT TRIGGER payment_order_adds_up AFTER INSERT OR UPDATE OF amount_minor, currency, checkout_id
  ON payins.payment_order DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION payins.check_checkout_orders();
