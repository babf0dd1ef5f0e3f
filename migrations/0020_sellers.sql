-- Sellers registered by the marketplace. Their money lives in the ledger (seller accounts); this table holds
-- who they are and in which currency their balance is kept.
CREATE SCHEMA IF NOT EXISTS sellers;

CREATE TABLE sellers.sellers (
  seller_account text PRIMARY KEY CHECK (seller_account ~ '^[A-Za-z0-9_-]{1,64}$'),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  metadata       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
