import type { Queryable } from '../db/pool.ts';
import type { RiskAssessment, RiskInput, RiskPort } from './port.ts';
import { evaluateRiskRules, type BuyerVelocity, type RiskRulesConfig } from './rules.ts';

/** The buyer's key for velocity: the id when given, else the e-mail address; undefined for an anonymous buyer. */
export function buyerKeyOf(buyerInfo: Record<string, unknown>): string | undefined {
  const id = buyerInfo.id;
  if (typeof id === 'string' && id.length > 0) return `id:${id}`;
  if (typeof id === 'number') return `id:${id}`;
  const email = buyerInfo.email;
  if (typeof email === 'string' && email.length > 0) return `email:${email.toLowerCase()}`;
  return undefined;
}

/** Checkouts the buyer started in the hour before `now`, and their totals in `currency`. */
export async function buyerVelocity(
  db: Queryable,
  buyerInfo: Record<string, unknown>,
  currency: string,
  now: Date,
): Promise<BuyerVelocity> {
  const key = buyerKeyOf(buyerInfo);
  if (key === undefined) return { checkouts: 0, amountMinor: 0n };
  const result = await db.query<{ n: bigint; total: bigint }>(
    `SELECT count(*)::int8 AS n, COALESCE(sum(total_minor) FILTER (WHERE currency = $2), 0)::int8 AS total
     FROM payins.payment_event
     WHERE created_at > $3::timestamptz - interval '1 hour' AND created_at <= $3::timestamptz
       AND CASE WHEN $1 LIKE 'id:%' THEN buyer_info ->> 'id' = substr($1, 4)
                ELSE lower(buyer_info ->> 'email') = substr($1, 7) END`,
    [key, currency, now],
  );
  const row = result.rows[0];
  return { checkouts: Number(row?.n ?? 0n), amountMinor: row?.total ?? 0n };
}

/** The built-in risk port: configurable limits, velocity per buyer, and block lists. */
export function createBuiltinRisk(db: Queryable, config: RiskRulesConfig, now: () => Date): RiskPort {
  return {
    name: 'builtin',
    async assess(input: RiskInput): Promise<RiskAssessment> {
      const velocity = await buyerVelocity(db, input.buyerInfo, input.currency, now());
      return evaluateRiskRules(input, velocity, config);
    },
  };
}
