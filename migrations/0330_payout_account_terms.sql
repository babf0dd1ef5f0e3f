-- Per-currency payout terms (issue 13, docs/payouts.md "Several currencies"): each account of a seller's other
-- currencies carries its own minimum payout (minor units of its currency) and its own "needs new bank details"
-- flag, so a payout returned in one currency stops that currency's payouts only. The seller's own currency keeps
-- both in sellers.payout_settings (minimum_amount_minor, needs_bank_details), as before.

ALTER TABLE sellers.payout_bank_accounts
  ADD COLUMN minimum_amount_minor bigint NOT NULL DEFAULT 0 CHECK (minimum_amount_minor >= 0),
  -- Set when a payout to this account came back (closed account, invalid IBAN); cleared when its details change.
  ADD COLUMN needs_bank_details boolean NOT NULL DEFAULT false,
  ADD COLUMN needs_bank_details_reason text,
  ADD CONSTRAINT payout_bank_accounts_reason_only_when_flagged
    CHECK (needs_bank_details OR needs_bank_details_reason IS NULL);

-- Until now the flag was the seller's: set by any return, in any currency. The flag of a seller flagged now moves
-- to the account of the currency its return was in, when that is another currency (its reason names the payout:
-- "payout po_… returned: …"). It stays on the seller's own currency when the reason names an own-currency payout
-- or no payout of ours, and also when an own-currency payout came back since the own currency's bank details last
-- changed (an earlier return whose reason a later one overwrote). Afterwards every seller flagged before is still
-- flagged on some account: asserted below.
DO $$
DECLARE
  flagged_before bigint;
  flagged_after bigint;
BEGIN
  SELECT count(*) INTO flagged_before FROM sellers.payout_settings WHERE needs_bank_details;

  CREATE TEMPORARY TABLE flag_moves ON COMMIT DROP AS
    SELECT ps.seller_account, p.currency::text AS currency, ps.needs_bank_details_reason AS reason,
           EXISTS (
             SELECT 1 FROM payouts.payouts own
               JOIN payouts.status_history h ON h.payout_id = own.id AND h.to_status = 'returned'
              WHERE own.seller_account = ps.seller_account AND own.currency = s.currency
                AND h.at > COALESCE((SELECT max(b.changed_at) FROM sellers.bank_details_audit b
                                      WHERE b.seller_account = ps.seller_account AND b.currency IS NULL),
                                    '-infinity'::timestamptz)
           ) AS own_returned_since
      FROM sellers.payout_settings ps
      JOIN sellers.sellers s USING (seller_account)
      JOIN payouts.payouts p
        ON p.id = substring(ps.needs_bank_details_reason FROM '^payout (po_[a-z0-9]+) returned')
       AND p.seller_account = ps.seller_account
      JOIN sellers.payout_bank_accounts a ON a.seller_account = ps.seller_account AND a.currency = p.currency
     WHERE ps.needs_bank_details AND p.currency <> s.currency;

  UPDATE sellers.payout_bank_accounts a
     SET needs_bank_details = true, needs_bank_details_reason = m.reason, updated_at = now()
    FROM flag_moves m
   WHERE a.seller_account = m.seller_account AND a.currency = m.currency;

  UPDATE sellers.payout_settings ps
     SET needs_bank_details = false, needs_bank_details_reason = NULL, updated_at = now()
    FROM flag_moves m
   WHERE ps.seller_account = m.seller_account AND NOT m.own_returned_since;

  SELECT count(*) INTO flagged_after FROM sellers.sellers s
   WHERE EXISTS (SELECT 1 FROM sellers.payout_settings ps
                  WHERE ps.seller_account = s.seller_account AND ps.needs_bank_details)
      OR EXISTS (SELECT 1 FROM sellers.payout_bank_accounts a
                  WHERE a.seller_account = s.seller_account AND a.needs_bank_details);
  IF flagged_after <> flagged_before THEN
    RAISE EXCEPTION 'moving needs_bank_details to accounts: % sellers flagged before, % after',
      flagged_before, flagged_after;
  END IF;
END $$;
