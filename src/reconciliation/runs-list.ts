import type { Queryable } from '../db/pool.ts';
import { keysetRows, type KeysetTable } from '../http/list-query.ts';
import type { PageRequest } from '../http/pagination.ts';
import type { RunRecord } from './service.ts';

/** The list of reconciliation runs (`GET /v1/reconciliation/runs`), newest first; index `runs_list` (0170). */

const RUNS: KeysetTable = { name: 'recon.runs', alias: 'r', id: 'id', created: 'started_at' };

interface RunRow {
  id: string;
  kind: RunRecord['kind'];
  trigger: string;
  status: RunRecord['status'];
  import_ids: string[];
  report: Record<string, unknown> | null;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
  interval_start: Date | null;
  interval_end: Date | null;
}

export async function listRuns(
  db: Queryable,
  request: PageRequest,
): Promise<{ rows: RunRecord[]; backwards: boolean }> {
  const page = await keysetRows<RunRow>(db, {
    table: RUNS,
    columns:
      'r.id, r.kind, r.trigger, r.status, r.import_ids, r.report, r.error, r.started_at, r.finished_at, ' +
      'r.interval_start, r.interval_end',
    where: [],
    request,
  });
  return {
    rows: page.rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      trigger: row.trigger,
      status: row.status,
      importIds: row.import_ids,
      report: row.report,
      error: row.error,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      intervalStart: row.interval_start,
      intervalEnd: row.interval_end,
    })),
    backwards: page.backwards,
  };
}
