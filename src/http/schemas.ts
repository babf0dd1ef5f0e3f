import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.ts';

const CODES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** The one error shape of every Bursar error (src/http/error-body.ts writes it; docs/errors.md lists the codes). */
export const ErrorResponse = z
  .object({
    error: z.object({
      code: z
        .enum(CODES)
        .describe('One of the closed list in docs/errors.md; each code has one HTTP status.'),
      message: z.string(),
      request_id: z.string().describe('The Request-Id response header; quote it when asking for help.'),
      field: z.string().optional().describe('The request field at fault, when there is one.'),
    }),
  })
  .describe('An error; see docs/errors.md')
  .meta({
    examples: [
      {
        error: {
          code: 'refund_exceeds_remaining',
          message: 'amount: 30.00 is more than the 25.00 left to refund on po_1842_a',
          request_id: 'req_8f2c1d9a4b7e6f0a1c2d3e4f',
          field: 'amount',
        },
      },
    ],
  });

/** The HTTP statuses some error code answers with, ascending (from the closed list, so a new status is covered). */
export const ERROR_STATUSES: readonly number[] = [
  ...new Set(Object.values(ERROR_CODES).map((entry) => entry.status)),
].sort((a, b) => a - b);

/**
 * The error half of a route's `schema.response`: every status an error code can answer with, each with the shared
 * error shape, so `/openapi.json` describes every error a route can give and the serializer keeps every field.
 */
export function errorResponses(): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(ERROR_STATUSES.map((status) => [status, ErrorResponse]));
}

/** A paginated list as the API returns it. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean() });
}

/** A timestamp on the wire: ISO 8601 in UTC. */
export const Timestamp = z
  .string()
  .describe('ISO 8601 timestamp (UTC)')
  .meta({ examples: ['2026-12-01T14:03:27.512Z'] });

/** An amount on the wire: a string in major units of its currency. */
export const Amount = z
  .string()
  .describe('amount in major units of the currency, as a string')
  .meta({ examples: ['25.00'] });
