-- The double-entry ledger: accounts, journal entries and their postings, in a schema of its own.
--
-- Every invariant the application keeps is also kept here, so that SQL written by hand cannot break the books:
--   * an entry has two or more postings and, per currency, its debits equal its credits (checked at commit by a
--     deferred constraint trigger on the entry);
--   * postings can only be added to an entry created in the same transaction (so a committed entry is closed);
--   * a posting's currency is its account's currency; amounts are strictly positive;
--   * entries and postings are append-only: UPDATE, DELETE and TRUNCATE are refused;
--   * an account's code, type, currency and owner never change; its posted totals and version never go down;
--   * an account with a floor never has a normal-side balance below it (checked by triggers on every insert and
--     update of the cached balance; not a CHECK, because INSERT … ON CONFLICT checks CHECKs on the row it
--     proposes to insert even when the row exists and is updated instead);
--   * each account's postings are numbered 1, 2, 3… (unique per account), so two writers cannot both append
--     posting n to the same account's chain.
CREATE SCHEMA ledger;

CREATE TABLE ledger.accounts (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code           text NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 200),
  type           text NOT NULL CHECK (type IN ('asset', 'liability', 'revenue', 'expense', 'equity')),
  currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  owner_id       text,
  -- Lowest allowed balance on the normal side; NULL: no limit.
  floor_minor    bigint,
  -- The cached balance: totals of all postings so far, and their count (= the last posting's seq).
  debits_minor   bigint NOT NULL DEFAULT 0 CHECK (debits_minor >= 0),
  credits_minor  bigint NOT NULL DEFAULT 0 CHECK (credits_minor >= 0),
  version        bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  created_at     timestamptz NOT NULL DEFAULT now(),
  -- When the last posting was written; never goes backwards, so postings' posted_at follow their seq.
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX accounts_owner ON ledger.accounts (owner_id) WHERE owner_id IS NOT NULL;

-- A plain sequence, not an identity, so that a batch insert can take its ids in input order.
CREATE SEQUENCE ledger.entries_id_seq;

CREATE TABLE ledger.entries (
  id                 bigint PRIMARY KEY DEFAULT nextval('ledger.entries_id_seq'::regclass),
  -- The idempotency reference: posting it again returns this entry.
  reference          text NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 300),
  kind               text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
  description        text NOT NULL,
  effective_at       timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  metadata           jsonb,
  -- Set on a reversing entry; an entry is reversed at most once.
  reverses_entry_id  bigint REFERENCES ledger.entries (id),
  -- The transaction that wrote the entry: only it may add postings.
  xact_id            xid8 NOT NULL DEFAULT pg_current_xact_id()
);
ALTER SEQUENCE ledger.entries_id_seq OWNED BY ledger.entries.id;
CREATE UNIQUE INDEX entries_reversed_once ON ledger.entries (reverses_entry_id) WHERE reverses_entry_id IS NOT NULL;
CREATE INDEX entries_kind ON ledger.entries (kind, id);

CREATE TABLE ledger.postings (
  account_id     bigint NOT NULL,
  -- Position in the account's chain: 1, 2, 3… with no gaps.
  seq            bigint NOT NULL CHECK (seq > 0),
  entry_id       bigint NOT NULL,
  line           smallint NOT NULL CHECK (line >= 0),
  is_credit      boolean NOT NULL,
  amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
  currency       text NOT NULL,
  -- The account's normal-side balance right after this posting: a past balance is one lookup.
  balance_after  bigint NOT NULL,
  posted_at      timestamptz NOT NULL,
  PRIMARY KEY (account_id, seq)
);
CREATE INDEX postings_entry ON ledger.postings (entry_id);
CREATE INDEX postings_account_time ON ledger.postings (account_id, posted_at, seq);

-- Refuses a change to an append-only table.
CREATE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger.% is append-only: % refused (post a reversing entry instead)', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'LG003';
END;
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON ledger.entries
  FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON ledger.entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON ledger.postings
  FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON ledger.postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON ledger.accounts
  FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON ledger.accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

-- The floor: an account's normal-side balance may not go below floor_minor.
CREATE FUNCTION ledger.assert_floor(account ledger.accounts) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  balance bigint;
BEGIN
  IF account.floor_minor IS NULL THEN
    RETURN;
  END IF;
  balance := CASE WHEN account.type IN ('asset', 'expense') THEN account.debits_minor - account.credits_minor
                  ELSE account.credits_minor - account.debits_minor END;
  IF balance < account.floor_minor THEN
    RAISE EXCEPTION 'account % would have balance %, below its floor %', account.code, balance, account.floor_minor
      USING ERRCODE = 'LG010';
  END IF;
END;
$$;

-- An account's identity is fixed, its totals only grow, and its balance stays at or above its floor.
CREATE FUNCTION ledger.guard_account_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.currency <> OLD.currency THEN
    RAISE EXCEPTION 'account % is in %, not %', OLD.code, OLD.currency, NEW.currency USING ERRCODE = 'LG021';
  END IF;
  IF NEW.code <> OLD.code OR NEW.type <> OLD.type OR NEW.owner_id IS DISTINCT FROM OLD.owner_id THEN
    RAISE EXCEPTION 'account % exists as % owned by %; it cannot become % owned by %',
      OLD.code, OLD.type, coalesce(OLD.owner_id, 'nobody'), NEW.type, coalesce(NEW.owner_id, 'nobody')
      USING ERRCODE = 'LG022';
  END IF;
  IF NEW.debits_minor < OLD.debits_minor OR NEW.credits_minor < OLD.credits_minor OR NEW.version < OLD.version THEN
    RAISE EXCEPTION 'account % totals may only grow', OLD.code USING ERRCODE = 'LG023';
  END IF;
  PERFORM ledger.assert_floor(NEW);
  RETURN NEW;
END;
$$;
CREATE TRIGGER accounts_guard BEFORE UPDATE ON ledger.accounts
  FOR EACH ROW EXECUTE FUNCTION ledger.guard_account_update();

-- AFTER, not BEFORE, INSERT: a BEFORE trigger would also see the row an upsert proposes and then discards.
CREATE FUNCTION ledger.guard_account_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ledger.assert_floor(NEW);
  RETURN NULL;
END;
$$;
CREATE TRIGGER accounts_floor_on_insert AFTER INSERT ON ledger.accounts
  FOR EACH ROW EXECUTE FUNCTION ledger.guard_account_insert();

-- Per statement (set-based, so a batch of thousands of postings costs one check): each new posting belongs to an
-- entry written by this very transaction, and carries its account's currency.
CREATE FUNCTION ledger.guard_new_postings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT n.entry_id, n.account_id INTO bad
    FROM new_postings n LEFT JOIN ledger.entries e ON e.id = n.entry_id
   WHERE e.id IS NULL OR e.xact_id <> pg_current_xact_id()
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'posting to entry % refused: postings may only be added to an entry in the transaction that '
      'created it', bad.entry_id USING ERRCODE = 'LG004';
  END IF;
  SELECT n.entry_id, n.account_id, n.currency INTO bad
    FROM new_postings n LEFT JOIN ledger.accounts a ON a.id = n.account_id
   WHERE a.id IS NULL OR a.currency <> n.currency
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'posting of entry % in % does not match account % (missing or in another currency)',
      bad.entry_id, bad.currency, bad.account_id USING ERRCODE = 'LG021';
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER postings_guard AFTER INSERT ON ledger.postings
  REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger.guard_new_postings();

-- At commit, once per entry: two or more postings, and per currency the debits equal the credits.
CREATE FUNCTION ledger.check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  posting_count bigint;
  unbalanced text;
BEGIN
  -- One pass over the entry's postings: their number, and the first currency whose sides differ.
  SELECT coalesce(sum(n), 0), min(currency) FILTER (WHERE net <> 0) INTO posting_count, unbalanced
    FROM (SELECT currency, count(*) AS n, sum(CASE WHEN is_credit THEN amount_minor ELSE -amount_minor END) AS net
            FROM ledger.postings WHERE entry_id = NEW.id GROUP BY currency) per_currency;
  IF posting_count < 2 THEN
    RAISE EXCEPTION 'journal entry % (%) has % posting(s); an entry needs at least two', NEW.id, NEW.reference,
      posting_count USING ERRCODE = 'LG002';
  END IF;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % (%) does not balance in %: debits and credits differ', NEW.id, NEW.reference,
      unbalanced USING ERRCODE = 'LG001';
  END IF;
  RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON ledger.entries
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger.check_entry_balanced();
