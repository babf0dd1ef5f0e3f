-- Room on each page of ledger.accounts for the next version of its rows (issue 17, docs/performance.md).
--
-- Every posting updates its account's cached balance (debits, credits, version, updated_at), none of them indexed
-- columns: such an update is a heap-only tuple (HOT) update — no new entry in the account's three indexes — when
-- the new version fits on the row's own page. Packed full (the default fillfactor of 100), the page of an
-- account that has not been updated since it was written has no room, and every index gets an entry: a payout
-- run's first balance update of each seller's account, a pay-in's first of a new seller's. 70 leaves room for a
-- few versions per row; pages written before this migration keep their layout until rewritten.
ALTER TABLE ledger.accounts SET (fillfactor = 70);
