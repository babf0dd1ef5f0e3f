-- Dashboard operators (src/operators/): people who sign in with an email and a password, their sessions, the
-- failed sign-ins that throttle guessing, and the append-only audit log of every write made from the dashboard.
CREATE SCHEMA IF NOT EXISTS operators;

CREATE TABLE operators.operators (
  id             text PRIMARY KEY CHECK (id ~ '^op_[0-9a-f]{16,32}$'),
  -- Stored lower case: one operator per address however it is typed.
  email          text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254
                                             AND email ~ '^[^@\s]+@[^@\s]+$'),
  role           text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  -- scrypt, self-describing: scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64> (src/operators/password.ts).
  password_hash  text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  created_at     timestamptz NOT NULL DEFAULT now(),
  disabled_at    timestamptz
);

CREATE TABLE operators.sessions (
  -- sha256 of the session token; the token itself lives only in the operator's cookie.
  token_hash     bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  operator_id    text NOT NULL REFERENCES operators.operators (id),
  -- sha256 of the CSRF token every write must echo in the X-CSRF-Token header.
  csrf_hash      bytea NOT NULL CHECK (octet_length(csrf_hash) = 32),
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  CONSTRAINT expires_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX sessions_operator ON operators.sessions (operator_id);
CREATE INDEX sessions_expiry ON operators.sessions (expires_at);

-- Failed sign-ins, by the address tried and by the client address; old rows are purged.
CREATE TABLE operators.sign_in_failures (
  id         bigserial PRIMARY KEY,
  email      text NOT NULL CHECK (length(email) <= 254),
  client_ip  text NOT NULL CHECK (length(client_ip) <= 64),
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_email ON operators.sign_in_failures (email, at);
CREATE INDEX sign_in_failures_ip ON operators.sign_in_failures (client_ip, at);

-- Who did what, when, with the object before and after. Append-only: the database refuses changes.
CREATE TABLE operators.audit_log (
  id           bigserial PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  -- op_… for an operator, key_… for an API key, cli:<os user> for the command line.
  actor        text NOT NULL CHECK (length(actor) BETWEEN 1 AND 128),
  -- A named action (operator.created) or the API route written to (POST /v1/refunds).
  action       text NOT NULL CHECK (length(action) BETWEEN 1 AND 160),
  target_type  text NOT NULL CHECK (target_type ~ '^[a-z][a-z0-9_]{0,63}$'),
  target_id    text NOT NULL CHECK (length(target_id) BETWEEN 1 AND 128),
  before       jsonb,
  after        jsonb,
  request_id   text CHECK (length(request_id) <= 128)
);
CREATE INDEX audit_log_at ON operators.audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor ON operators.audit_log (actor, at DESC);
CREATE INDEX audit_log_target ON operators.audit_log (target_type, target_id, at DESC);

CREATE FUNCTION operators.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'operators.audit_log is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON operators.audit_log
  FOR EACH ROW EXECUTE FUNCTION operators.refuse_audit_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON operators.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION operators.refuse_audit_change();
