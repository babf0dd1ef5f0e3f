-- Seller debt (docs/payouts.md "Seller debt"): the audit of every debt write-off, append-only. The debt itself is
-- the ledger's `seller:<id>:receivable:<CUR>` account; recoveries and write-offs are ledger entries
-- (`debt.recovered`, `debt.written_off`). One row per write-off, written in the transaction that posts its entry.
CREATE TABLE sellers.debt_write_offs (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seller_account       text NOT NULL REFERENCES sellers.sellers (seller_account),
  currency             char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount_minor         bigint NOT NULL CHECK (amount_minor > 0),
  -- The receivable's balance before and after the write-off: the after is the before less the amount, never < 0.
  balance_before_minor bigint NOT NULL,
  balance_after_minor  bigint NOT NULL CHECK (balance_after_minor >= 0),
  -- Who: the API key id, or `cli:<operating-system user>`.
  actor                text NOT NULL CHECK (actor <> ''),
  reason               text,
  older_than_days      integer NOT NULL CHECK (older_than_days >= 0),
  -- When the debt began (the receivable's first posting since it was last zero).
  debt_since           timestamptz,
  ledger_entry_id      text NOT NULL UNIQUE,
  created_at           timestamptz NOT NULL DEFAULT now(),
  CHECK (balance_after_minor = balance_before_minor - amount_minor)
);
CREATE INDEX debt_write_offs_seller ON sellers.debt_write_offs (seller_account, id);

CREATE TRIGGER debt_write_offs_append_only BEFORE UPDATE OR DELETE ON sellers.debt_write_offs
  FOR EACH ROW EXECUTE FUNCTION sellers.refuse_audit_change();
CREATE FUNCTION sellers.refuse_audit_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER debt_write_offs_no_truncate BEFORE TRUNCATE ON sellers.debt_write_offs
  FOR EACH STATEMENT EXECUTE FUNCTION sellers.refuse_audit_truncate();
