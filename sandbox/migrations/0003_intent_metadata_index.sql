-- Only payment intents are searched by metadata (`GET /v1/payment_intents/search`, the one query with
-- `data -> 'metadata' @>`: sandbox/store.ts listObjects), but objects_metadata indexed the metadata of every object
-- stored: a charge stored five more (its event objects, the charge, its balance transaction), each an insert into
-- the GIN index's pending list and, every few thousand, a clean-up of that list by whichever insert filled it. The
-- index now holds payment intents only; the search names the kind, so the planner can use it
-- (test/store/sandbox-search-index.test.ts).
CREATE INDEX IF NOT EXISTS objects_intent_metadata ON sandbox.objects USING gin ((data -> 'metadata') jsonb_path_ops)
  WHERE object = 'payment_intent';
DROP INDEX IF EXISTS sandbox.objects_metadata;
