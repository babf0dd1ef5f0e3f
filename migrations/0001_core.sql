-- Core tables shared by every module: API keys, idempotency records, the audit log and the outbox.
CREATE SCHEMA IF NOT EXISTS core;

CREATE TABLE core.api_keys (
  id           text PRIMARY KEY CHECK (id ~ '^key_[A-Za-z0-9]+$'),
  name         text NOT NULL,
  -- SHA-256 of the whole secret. Keys carry 192 random bits, so a fast hash is enough; the secret itself is
  -- never stored.
  secret_hash  bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
  -- The last four characters, to tell keys apart in listings.
  hint         text NOT NULL,
  scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);

-- Who did what, written in the transaction that did it.
CREATE TABLE core.audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  action      text NOT NULL,
  subject     text NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_subject ON core.audit_log (subject, at);

CREATE FUNCTION core.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON core.audit_log
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
