-- Look-ups the dashboard's payment timeline makes (src/ledger/subject.ts, src/payins/timeline.ts): the ledger
-- entries of one payment order, and the PSP events about one PSP payment or session.
CREATE INDEX IF NOT EXISTS entries_payment_order ON ledger.entries ((metadata ->> 'paymentOrderId'))
  WHERE metadata ? 'paymentOrderId';
CREATE INDEX IF NOT EXISTS psp_events_object ON payins.psp_events ((payload -> 'object' ->> 'id'));
CREATE INDEX IF NOT EXISTS psp_events_payment_intent ON payins.psp_events ((payload -> 'object' ->> 'payment_intent'));
