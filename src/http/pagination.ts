import { z } from 'zod';

/**
 * Cursor pagination shared by every list route (Stripe's shape): newest first, `limit` 1–100 (default 10), and
 * `starting_after` / `ending_before` naming an object id of the previous page. Keyset on (created_at, id), so the
 * cost of a page does not grow with the table and a cursor stays stable while rows are inserted.
 */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  starting_after: z.string().min(1).max(64).optional(),
  ending_before: z.string().min(1).max(64).optional(),
});

export type PageQueryInput = z.infer<typeof PageQuery>;

export interface PageRequest {
  limit: number;
  startingAfter?: string | undefined;
  endingBefore?: string | undefined;
}

export function pageRequestOf(query: PageQueryInput): PageRequest {
  return { limit: query.limit, startingAfter: query.starting_after, endingBefore: query.ending_before };
}

/**
 * The SQL pieces of one keyset page over `table` (aliased `alias`) ordered by (`created_at`, `id`) newest first.
 * `params` is the caller's parameter list: the cursor is appended to it and referenced by number. Query the rows
 * with `WHERE <your filters> AND ${page.where} ORDER BY ${page.orderBy} LIMIT ${page.limit}` and pass the rows to
 * `pageOf`, which restores newest-first order and says whether there is more.
 */
export function keysetPage(
  request: PageRequest,
  table: { name: string; alias: string; id?: string; created?: string },
  params: unknown[],
): { where: string; orderBy: string; limit: number; backwards: boolean } {
  const id = `${table.alias}.${table.id ?? 'id'}`;
  const created = `${table.alias}.${table.created ?? 'created_at'}`;
  const cursorOf = (n: number) =>
    `(SELECT c.${table.created ?? 'created_at'}, c.${table.id ?? 'id'} FROM ${table.name} c WHERE c.${table.id ?? 'id'} = $${n})`;
  const limit = request.limit + 1;
  if (request.startingAfter !== undefined) {
    params.push(request.startingAfter);
    return {
      where: `(${created}, ${id}) < ${cursorOf(params.length)}`,
      orderBy: `${created} DESC, ${id} DESC`,
      limit,
      backwards: false,
    };
  }
  if (request.endingBefore !== undefined) {
    params.push(request.endingBefore);
    return {
      where: `(${created}, ${id}) > ${cursorOf(params.length)}`,
      orderBy: `${created} ASC, ${id} ASC`,
      limit,
      backwards: true,
    };
  }
  return { where: 'TRUE', orderBy: `${created} DESC, ${id} DESC`, limit, backwards: false };
}

/** The list envelope from rows fetched with `keysetPage` (one row more than the limit tells `has_more`). */
export function pageOf<Row, Wire>(
  rows: Row[],
  request: PageRequest,
  backwards: boolean,
  toWire: (row: Row) => Wire,
): { object: 'list'; data: Wire[]; has_more: boolean } {
  const page = rows.slice(0, request.limit);
  if (backwards) page.reverse();
  return { object: 'list', data: page.map(toWire), has_more: rows.length > request.limit };
}
