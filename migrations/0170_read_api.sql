-- The read API (issue 14, docs/api.md "Lists"): the indexes behind every list filter (each one leads with the
-- filter's column and ends with the keyset (created_at, id), so a page costs the same however large the table),
-- the checkout's stored status (derived from its orders, kept by triggers so that it can be filtered by index),
-- sellers' active/inactive status, and the append-only audit of seller maintenance.

-- Payment orders: GET /v1/payments.
CREATE INDEX payment_order_list ON payins.payment_order (created_at, payment_order_id);
CREATE INDEX payment_order_list_buyer ON payins.payment_order (buyer_account, created_at, payment_order_id);
CREATE INDEX payment_order_list_seller ON payins.payment_order (seller_account, created_at, payment_order_id);
CREATE INDEX payment_order_list_checkout ON payins.payment_order (checkout_id, created_at, payment_order_id);
CREATE INDEX payment_order_list_status ON payins.payment_order (payment_order_status, created_at, payment_order_id);
CREATE INDEX payment_order_list_currency ON payins.payment_order (currency, created_at, payment_order_id);

-- Checkouts: GET /v1/checkouts. The status the API shows is derived from the orders (src/payins/wire.ts
-- checkoutStatusOf); this function is its SQL twin, and the triggers below keep `status` equal to it.
CREATE FUNCTION payins.checkout_status_of(p_checkout text, p_flow text, p_session_url text)
  RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN bool_and(payment_order_status IN ('SUCCESS', 'FAILED')) IS NOT FALSE THEN
      CASE WHEN bool_and(payment_order_status = 'SUCCESS') IS NOT FALSE THEN 'succeeded'
           WHEN bool_and(payment_order_status = 'FAILED') THEN 'failed'
           ELSE 'partially_succeeded' END
    WHEN p_flow = 'hosted_page' AND p_session_url IS NOT NULL
         AND bool_or(payment_order_status = 'EXECUTING') THEN 'requires_action'
    ELSE 'processing' END
  FROM payins.payment_order WHERE checkout_id = p_checkout
$$;

ALTER TABLE payins.payment_event ADD COLUMN status text NOT NULL DEFAULT 'processing'
  CHECK (status IN ('processing', 'requires_action', 'succeeded', 'failed', 'partially_succeeded'));
UPDATE payins.payment_event SET status = payins.checkout_status_of(checkout_id, flow, psp_session_url);

CREATE FUNCTION payins.checkout_status_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.status := payins.checkout_status_of(NEW.checkout_id, NEW.flow, NEW.psp_session_url);
  RETURN NEW;
END $$;
CREATE TRIGGER payment_event_status BEFORE UPDATE ON payins.payment_event
  FOR EACH ROW EXECUTE FUNCTION payins.checkout_status_on_event();

CREATE FUNCTION payins.checkout_status_on_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE payins.payment_event e SET status = status
   WHERE e.checkout_id = NEW.checkout_id
     AND e.status IS DISTINCT FROM payins.checkout_status_of(e.checkout_id, e.flow, e.psp_session_url);
  RETURN NULL;
END $$;
CREATE TRIGGER payment_order_checkout_status AFTER INSERT OR UPDATE OF payment_order_status ON payins.payment_order
  FOR EACH ROW EXECUTE FUNCTION payins.checkout_status_on_order();

CREATE INDEX payment_event_list ON payins.payment_event (created_at, checkout_id);
CREATE INDEX payment_event_list_buyer ON payins.payment_event ((buyer_info ->> 'id'), created_at, checkout_id);
CREATE INDEX payment_event_list_status ON payins.payment_event (status, created_at, checkout_id);

-- Sellers: GET /v1/sellers, deactivation, and the audit of every change of name, metadata or status.
ALTER TABLE sellers.sellers ADD COLUMN status text NOT NULL DEFAULT 'active'
  CHECK (status IN ('active', 'inactive'));
ALTER TABLE sellers.sellers ADD CONSTRAINT sellers_metadata_bounded
  CHECK (jsonb_typeof(metadata) = 'object' AND octet_length(metadata::text) <= 16384) NOT VALID;
CREATE INDEX sellers_list ON sellers.sellers (created_at, seller_account);
CREATE INDEX sellers_list_status ON sellers.sellers (status, created_at, seller_account);
CREATE INDEX payout_settings_flagged ON sellers.payout_settings (seller_account) WHERE needs_bank_details;

CREATE TABLE sellers.seller_audit (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seller_account  text NOT NULL REFERENCES sellers.sellers (seller_account),
  action          text NOT NULL CHECK (action IN ('update', 'deactivate', 'reactivate')),
  api_key_id      text,
  before          jsonb NOT NULL,
  after           jsonb NOT NULL,
  reason          text CHECK (reason IS NULL OR length(reason) <= 500),
  changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seller_audit_seller ON sellers.seller_audit (seller_account, id);
CREATE TRIGGER seller_audit_append_only BEFORE UPDATE OR DELETE ON sellers.seller_audit
  FOR EACH ROW EXECUTE FUNCTION sellers.refuse_audit_change();

-- Payouts: GET /v1/payouts (the seller filter uses payouts_seller).
CREATE INDEX payouts_list ON payouts.payouts (created_at, id);
CREATE INDEX payouts_list_status ON payouts.payouts (status, created_at, id);
CREATE INDEX payouts_list_run_date ON payouts.payouts (run_date, created_at, id) WHERE run_date IS NOT NULL;

-- Reconciliation runs: GET /v1/reconciliation/runs.
CREATE INDEX runs_list ON recon.runs (started_at, id);

-- Statements and reports read an account's postings by time (postings_account_time) and entries by id.
