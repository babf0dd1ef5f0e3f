-- One Idempotency-Key mechanism for every POST that moves money (src/idempotency/). A row is the key of one API
-- key on one route family (`scope`: 'payments' for POST /v1/payments, 'payouts' for POST /v1/payouts, …), the
-- fingerprint of the request that first used it, and — once the work is done — the response to replay.
-- `in_progress` rows carry a lease: a request that finds one whose lease ran out may take the work over.
-- Replaces payins.idempotency_keys and payouts.idempotency_keys, whose rows (in-flight keys included) move here.
CREATE SCHEMA IF NOT EXISTS idempotency;

CREATE TABLE idempotency.keys (
  api_key_id       text NOT NULL CHECK (length(api_key_id) BETWEEN 1 AND 255),
  scope            text NOT NULL CHECK (scope ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  -- sha256 of method, path and canonical body (src/idempotency/fingerprint.ts).
  fingerprint      bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
  status           text NOT NULL CHECK (status IN ('in_progress', 'completed')),
  -- What the request creates (a checkout id…), so a take-over knows what to finish; optional.
  subject          text,
  response_status  integer CHECK (response_status BETWEEN 100 AND 599),
  response_body    jsonb,
  -- The in-progress lease, by the database's clock: another request may take over once it has passed.
  lease_until      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  -- 'infinity' for a key kept as long as what it made (payouts: the payout row holds the key unique too).
  expires_at       timestamptz NOT NULL,
  PRIMARY KEY (api_key_id, scope, idempotency_key),
  -- The response is stored exactly when the work is done.
  CONSTRAINT response_iff_completed CHECK (
    (status = 'completed') = (response_status IS NOT NULL) AND (response_status IS NULL) = (response_body IS NULL)),
  -- A lease exists exactly while the work is in progress.
  CONSTRAINT lease_iff_in_progress CHECK ((status = 'in_progress') = (lease_until IS NOT NULL)),
  CONSTRAINT expires_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX keys_expiry ON idempotency.keys (expires_at) WHERE expires_at < 'infinity';

-- Pay-in keys still alive, in progress or completed; a key past its expiry is as good as purged.
INSERT INTO idempotency.keys (api_key_id, scope, idempotency_key, fingerprint, status, subject, response_status,
                              response_body, lease_until, created_at, expires_at)
SELECT api_key_id, 'payments', idempotency_key, fingerprint, state, checkout_id,
       CASE WHEN state = 'completed' THEN response_status END,
       CASE WHEN state = 'completed' THEN response_body END,
       CASE WHEN state = 'in_progress' THEN coalesce(locked_until, now()) END,
       created_at, expires_at
  FROM payins.idempotency_keys
 WHERE expires_at > now() AND expires_at > created_at;

-- Payout replies were kept without an end; they stay so (the payout keeps its key unique anyway).
INSERT INTO idempotency.keys (api_key_id, scope, idempotency_key, fingerprint, status, response_status,
                              response_body, created_at, expires_at)
SELECT api_key_id, 'payouts', idempotency_key, fingerprint, 'completed', response_status, response_body,
       created_at, 'infinity'
  FROM payouts.idempotency_keys;

-- Nothing reads or writes the old tables any more; dropping them keeps a stale writer from going unnoticed.
DROP TABLE payins.idempotency_keys;
DROP TABLE payouts.idempotency_keys;
