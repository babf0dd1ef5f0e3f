-- The dead-letter queue: jobs whose attempts ran out, kept until a person replays them (`bursar dlq`).
-- pg-boss (schema `pgboss`, created by pg-boss itself at start) carries the live jobs; dead letters live here so
-- that they are listed, replayed and audited with plain SQL, independent of pg-boss's retention.
CREATE SCHEMA IF NOT EXISTS jobs;

CREATE TABLE jobs.dead_letters (
  id            text PRIMARY KEY CHECK (id ~ '^dl_[A-Za-z0-9]+$'),
  queue         text NOT NULL,
  -- What the job was about (e.g. a payment order id); at most one open dead letter per subject and queue.
  subject       text NOT NULL,
  payload       jsonb NOT NULL,
  reason        text NOT NULL,
  attempts      integer NOT NULL CHECK (attempts >= 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  replayed_at   timestamptz
);
CREATE UNIQUE INDEX dead_letters_open_subject ON jobs.dead_letters (queue, subject) WHERE replayed_at IS NULL;
CREATE INDEX dead_letters_created ON jobs.dead_letters (created_at);
