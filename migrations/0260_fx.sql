-- Foreign exchange (docs/currencies.md): the reference rates Bursar fetched, each with its source, publication
-- date and fetch time; the quotes (a rate, the markup and a lock); and, in pay-ins, the conversion each payment
-- order used. Rates and amounts are exact: numeric rates, bigint minor units, never floats.
CREATE SCHEMA IF NOT EXISTS fx;

-- One row per (source, publication date, currency): "1 base = rate currency" as the source published it.
CREATE TABLE fx.rates (
  source        text NOT NULL CHECK (source <> ''),
  base_currency char(3) NOT NULL CHECK (base_currency ~ '^[A-Z]{3}$'),
  currency      char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$' AND currency <> base_currency),
  rate_date     date NOT NULL,
  rate          numeric NOT NULL CHECK (rate > 0),
  fetched_at    timestamptz NOT NULL,
  PRIMARY KEY (source, rate_date, currency)
);
CREATE INDEX rates_latest ON fx.rates (rate_date DESC, fetched_at DESC);

-- A quote: the rate from → to (mid rate less the markup) offered until expires_at. An implicit quote is the one a
-- checkout without fx_quote_id was converted at (the current rate and markup, recorded rather than assumed).
CREATE TABLE fx.quotes (
  id            text PRIMARY KEY CHECK (id ~ '^fxq_[a-z0-9]{8,64}$'),
  from_currency char(3) NOT NULL CHECK (from_currency ~ '^[A-Z]{3}$'),
  to_currency   char(3) NOT NULL CHECK (to_currency ~ '^[A-Z]{3}$' AND to_currency <> from_currency),
  mid_rate      numeric NOT NULL CHECK (mid_rate > 0),
  rate          numeric NOT NULL CHECK (rate > 0 AND rate <= mid_rate),
  markup_bps    integer NOT NULL CHECK (markup_bps >= 0 AND markup_bps < 10000),
  source        text NOT NULL CHECK (source <> ''),
  rate_date     date NOT NULL,
  lock_duration text NOT NULL CHECK (lock_duration IN ('none', '5m', '1h', '24h')),
  implicit      boolean NOT NULL DEFAULT false,
  api_key_id    text,
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL CHECK (expires_at >= created_at)
);

-- The conversion a payment order was booked at: charged in its (presentment) currency, credited to the seller in
-- the settlement currency. Written with the order; fixed afterwards.
CREATE TABLE payins.order_fx (
  payment_order_id     text PRIMARY KEY REFERENCES payins.payment_order (payment_order_id),
  presentment_currency char(3) NOT NULL CHECK (presentment_currency ~ '^[A-Z]{3}$'),
  settlement_currency  char(3) NOT NULL
    CHECK (settlement_currency ~ '^[A-Z]{3}$' AND settlement_currency <> presentment_currency),
  -- The gross at the quote's rate (what the seller's share is computed on) and at the mid rate (the difference
  -- is the platform's FX markup revenue).
  settlement_minor     bigint NOT NULL CHECK (settlement_minor > 0),
  mid_value_minor      bigint NOT NULL CHECK (mid_value_minor >= settlement_minor),
  rate                 numeric NOT NULL CHECK (rate > 0),
  mid_rate             numeric NOT NULL CHECK (mid_rate >= rate),
  quote_id             text NOT NULL,
  source               text NOT NULL,
  rate_date            date NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION payins.refuse_order_fx_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'payins.order_fx is fixed once written' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER order_fx_fixed BEFORE UPDATE ON payins.order_fx
  FOR EACH ROW EXECUTE FUNCTION payins.refuse_order_fx_change();
