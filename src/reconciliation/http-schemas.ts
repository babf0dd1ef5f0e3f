import { z } from 'zod';
import { Timestamp } from '../http/schemas.ts';
import { EXCEPTION_CLASSES, EXCEPTION_KINDS } from './domain/types.ts';

/**
 * The response schemas of the reconciliation routes (docs/reconciliation.md). The serializer drops any field not
 * listed here; the wire functions' return types are inferred from these schemas. `evidence`, `fix` and a run's
 * `report` are documents whose keys depend on the kind of difference; they are passed through whole.
 */

export const ExceptionWire = z.object({
  id: z.string(),
  object: z.literal('reconciliation_exception'),
  class: z.enum(EXCEPTION_CLASSES),
  kind: z.enum(EXCEPTION_KINDS as [string, ...string[]]),
  status: z.enum(['open', 'fixed', 'resolved']),
  cause: z.string(),
  amount: z.string().nullable().describe('signed, in major units of `currency`'),
  currency: z.string().nullable(),
  evidence: z.record(z.string(), z.unknown()),
  fix: z.record(z.string(), z.unknown()).nullable(),
  run_id: z.string().nullable(),
  resolution: z
    .object({
      note: z.string().nullable(),
      resolved_by: z.string().nullable(),
      resolved_at: Timestamp.nullable(),
    })
    .nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type ExceptionWire = z.infer<typeof ExceptionWire>;

export const ExceptionWithHistory = ExceptionWire.extend({
  history: z.array(
    z.object({ at: Timestamp, action: z.string(), actor: z.string(), note: z.string().nullable() }),
  ),
});
export type ExceptionWithHistory = z.infer<typeof ExceptionWithHistory>;

export const ExceptionList = z.object({
  object: z.literal('list'),
  data: z.array(ExceptionWire),
  has_more: z.boolean(),
  next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
});

export const RunWire = z.object({
  id: z.string(),
  object: z.literal('reconciliation_run'),
  kind: z.enum(['psp', 'bank', 'internal', 'daily']),
  trigger: z.string(),
  status: z.enum(['running', 'succeeded', 'failed']),
  import_ids: z.array(z.string()),
  report: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  started_at: Timestamp,
  finished_at: Timestamp.nullable(),
  interval_start: Timestamp.nullable().describe(
    'start of the activity the run covers (a fetch: the report day)',
  ),
  interval_end: Timestamp.nullable().describe('end of the activity the run covers (exclusive)'),
});
export type RunWire = z.infer<typeof RunWire>;
