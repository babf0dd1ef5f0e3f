-- Multi-currency payouts (issue 13, docs/payouts.md "Several currencies"): a seller may hold balances in several
-- currencies and have one bank account per payout currency. The account of the seller's own (default) currency
-- stays in sellers.payout_settings, as before; the accounts of the other currencies are here, one per currency.

CREATE TABLE sellers.payout_bank_accounts (
  seller_account        text NOT NULL REFERENCES sellers.sellers (seller_account),
  currency              char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  account_holder_name   text CHECK (account_holder_name IS NULL OR length(account_holder_name) BETWEEN 1 AND 140),
  iban                  text CHECK (iban IS NULL OR iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
  bic                   text CHECK (bic IS NULL OR bic ~ '^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$'),
  account_number        text CHECK (account_number IS NULL OR account_number ~ '^[0-9]{4,17}$'),
  routing_number        text CHECK (routing_number IS NULL OR routing_number ~ '^[0-9]{9}$'),
  ach_holder_type       text CHECK (ach_holder_type IS NULL OR ach_holder_type IN ('company', 'individual')),
  ach_account_type      text CHECK (ach_account_type IS NULL OR ach_account_type IN ('checking', 'savings')),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  -- One account per seller and currency.
  PRIMARY KEY (seller_account, currency),
  CHECK ((iban IS NULL) = (bic IS NULL)),
  CHECK ((account_number IS NULL) = (routing_number IS NULL)),
  -- Exactly one kind of details: IBAN + BIC, or account + routing number.
  CHECK ((iban IS NULL) <> (account_number IS NULL)),
  -- The ACH holder and account types only go with ACH details.
  CHECK (account_number IS NOT NULL OR (ach_holder_type IS NULL AND ach_account_type IS NULL))
);

-- The default currency's account lives in sellers.payout_settings: a row here for it would be a second account
-- for one currency.
CREATE OR REPLACE FUNCTION sellers.payout_bank_account_not_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM sellers.sellers s
              WHERE s.seller_account = NEW.seller_account AND s.currency = NEW.currency) THEN
    RAISE EXCEPTION 'the % account of seller % is its payout settings'' bank details', NEW.currency,
      NEW.seller_account USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER payout_bank_accounts_not_default BEFORE INSERT OR UPDATE ON sellers.payout_bank_accounts
  FOR EACH ROW EXECUTE FUNCTION sellers.payout_bank_account_not_default();

-- Which account an audited change was about: NULL is the default currency's (the rows before this migration).
ALTER TABLE sellers.bank_details_audit ADD COLUMN currency char(3) CHECK (currency IS NULL OR currency ~ '^[A-Z]{3}$');

-- A run pays each currency's balance on its own: at most one scheduled payout per seller, date and currency.
DROP INDEX payouts.payouts_seller_period;
CREATE UNIQUE INDEX payouts_seller_period ON payouts.payouts (seller_account, run_date, currency)
  WHERE source = 'scheduled';

-- The run's outcome per currency for sellers paid in several ({"GBP": {"outcome": "paid", "payout_id": "po_…"},
-- "CHF": {"outcome": "no_bank_details"}}); `outcome` and `payout_id` stay the default currency's.
ALTER TABLE payouts.seller_runs ADD COLUMN currency_outcomes jsonb;

-- The run finds the other currencies a seller was credited in from its holds.
CREATE INDEX holds_seller_currency ON payouts.holds (seller_account, currency);
