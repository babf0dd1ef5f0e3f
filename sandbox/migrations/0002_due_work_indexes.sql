-- The scheduler's look for due work (sandbox/scheduler.ts `scheduledWorkDue`, every tick) and its passes
-- (`runScheduledWork`, `resolveDueDisputes`, `settleDueRefunds`) each asked for the objects of one kind waiting on a
-- time: through objects_by_kind they read every payment intent, checkout session, dispute or refund ever made and
-- filtered them on their JSON. The cost grew with everything the sandbox had ever stored: in the payins benchmark
-- (issue 17, docs/performance.md) the look took 28 ms a tick on average in its first phase (up to 2,321 payment
-- intents stored) and 105 ms in its last (about 3,500 to 6,200), on the machine Bursar shares with it; with 80,000
-- objects (20,000 payment intents) 5.1 ms with no other load. Each index below holds only the objects still
-- waiting, keyed by when they are due, with the same predicate as the queries, so a tick reads the few that wait
-- (0.03 ms at those 80,000 objects). test/store/sandbox-due-work.test.ts holds the look to these indexes.
CREATE INDEX IF NOT EXISTS objects_review_due ON sandbox.objects (((internal ->> 'reviewDueAt')::bigint))
  WHERE object = 'payment_intent' AND data ->> 'status' = 'processing' AND internal ? 'reviewDueAt';
CREATE INDEX IF NOT EXISTS objects_session_expiry ON sandbox.objects (((data ->> 'expires_at')::bigint))
  WHERE object = 'checkout.session' AND data ->> 'status' = 'open';
CREATE INDEX IF NOT EXISTS objects_dispute_due ON sandbox.objects (((internal ->> 'resolveAt')::bigint))
  WHERE object = 'dispute' AND internal ? 'resolveAt';
CREATE INDEX IF NOT EXISTS objects_refund_due ON sandbox.objects (((internal ->> 'settleAt')::bigint))
  WHERE object = 'refund' AND internal ? 'settleAt';
