import { z } from 'zod';
import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { keysetPage, PageQuery, type PageRequest } from './pagination.ts';

/**
 * What every list route shares beyond `src/http/pagination.ts`: the `created[gte]` / `created[lt]` filter keys (the
 * query-string parser gives them as flat keys, so they are declared as such), their parsing as timestamps, and one
 * runner of keyset-page queries that refuses a cursor naming no object. Each module's store passes its own table,
 * columns and filters: the SQL of a table stays with its owner.
 */

/** `created[gte]` and `created[lt]`: ISO 8601 timestamps (with a zone) or Unix seconds, as Stripe takes them. */
export const CreatedFilter = {
  'created[gte]': z.string().min(1).max(40).optional().describe('ISO 8601 time with a zone, or Unix seconds'),
  'created[lt]': z.string().min(1).max(40).optional().describe('ISO 8601 time with a zone, or Unix seconds'),
};

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const UNIX_SECONDS = /^\d{1,11}$/;

/** A timestamp query value, or 400 `timestamp_invalid` naming the key. A bare date is midnight UTC. */
export function parseTimestamp(value: string, field: string): Date {
  let at: Date | undefined;
  if (UNIX_SECONDS.test(value)) at = new Date(Number(value) * 1000);
  else if (ISO_WITH_ZONE.test(value)) at = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (at === undefined || Number.isNaN(at.getTime()) || at.getUTCFullYear() > 9999) {
    throw new AppError(
      'timestamp_invalid',
      `${field}: "${value.slice(0, 40)}" is not a timestamp (ISO 8601 with a zone, or Unix seconds)`,
      { field },
    );
  }
  return at;
}

export interface CreatedRange {
  gte?: Date | undefined;
  lt?: Date | undefined;
}

/** The parsed `created[…]` filters of a query. */
export function createdRangeOf(query: {
  'created[gte]'?: string | undefined;
  'created[lt]'?: string | undefined;
}): CreatedRange {
  const gte = query['created[gte]'];
  const lt = query['created[lt]'];
  return {
    gte: gte === undefined ? undefined : parseTimestamp(gte, 'created[gte]'),
    lt: lt === undefined ? undefined : parseTimestamp(lt, 'created[lt]'),
  };
}

/** The page query of a list route with its own filters; unknown query keys are refused (a mistyped filter). */
export function listQuery<T extends z.ZodRawShape>(filters: T) {
  return PageQuery.extend(filters)
    .strict()
    .refine((q) => bothCursorsAbsentOrOne(q as { starting_after?: unknown; ending_before?: unknown }), {
      message: 'give starting_after or ending_before, not both',
      path: ['ending_before'],
    });
}

function bothCursorsAbsentOrOne(q: { starting_after?: unknown; ending_before?: unknown }): boolean {
  return q.starting_after === undefined || q.ending_before === undefined;
}

/** One filter: a SQL condition over the parameter number it is given, and the value bound to it. */
export interface Filter {
  sql: (param: string) => string;
  value: unknown;
}

/** The filters whose value is given (`undefined` leaves a filter out). */
export function filters(...candidates: Array<[value: unknown, sql: (param: string) => string]>): Filter[] {
  return candidates.filter(([value]) => value !== undefined).map(([value, sql]) => ({ sql, value }));
}

export function createdFilters(column: string, range: CreatedRange): Filter[] {
  return filters([range.gte, (p) => `${column} >= ${p}`], [range.lt, (p) => `${column} < ${p}`]);
}

export interface KeysetTable {
  /** `schema.table` */
  name: string;
  alias: string;
  id: string;
  created: string;
}

/**
 * One page of `table` newest first under `where`: `columns` from `from` (the table aliased, plus any joins). A cursor
 * that names no row of the table is 400 `cursor_not_found` (rather than an empty page that looks like the end).
 */
export async function keysetRows<Row extends object>(
  db: Queryable,
  spec: { table: KeysetTable; columns: string; from?: string; where: Filter[]; request: PageRequest },
): Promise<{ rows: Row[]; backwards: boolean }> {
  const { table, request } = spec;
  const cursor = request.startingAfter ?? request.endingBefore;
  if (cursor !== undefined) {
    const found = await db.query(`SELECT 1 FROM ${table.name} WHERE ${table.id} = $1`, [cursor]);
    if (found.rowCount === 0) {
      const field = request.startingAfter === undefined ? 'ending_before' : 'starting_after';
      throw new AppError('cursor_not_found', `${field}: no object ${cursor} in this list`, { field });
    }
  }
  const params: unknown[] = [];
  const conditions = spec.where.map((filter) => {
    params.push(filter.value);
    return filter.sql(`$${params.length}`);
  });
  const page = keysetPage(request, table, params);
  conditions.push(page.where);
  const result = await db.query<Row>(
    `SELECT ${spec.columns} FROM ${spec.from ?? `${table.name} ${table.alias}`}
      WHERE ${conditions.join(' AND ')} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
    params,
  );
  return { rows: result.rows, backwards: page.backwards };
}
