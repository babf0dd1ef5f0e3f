import { withTransaction } from '../../db/tx.ts';
import type { PayoutProvider } from '../port.ts';
import { markInTransit } from '../settle.ts';
import type { BankDetails } from '../bank.ts';

/**
 * The sandbox payout provider's adapter: each pending payout is POSTed to the sandbox's payout-provider API
 * (docs/sandbox.md) with `Idempotency-Key` = the payout id, outside any transaction; an accepted one moves to
 * in_transit in a short transaction of its own. The provider later calls our webhook with `payout.paid` or
 * `payout.returned`, which `settlePayout` books. A payout the provider did not take stays pending and is tried
 * again at the next run (the key makes a retry of an accepted one harmless).
 */
export function createSandboxPayoutProvider(options: {
  baseUrl: string;
  notifyUrl: string;
  completeAfterMs?: number;
  timeoutMs?: number;
}): PayoutProvider {
  return {
    name: 'sandbox',
    async submitPending(deps) {
      const pending = await deps.pool.query<{
        id: string;
        amount_minor: bigint;
        currency: string;
        destination: BankDetails;
      }>(
        `SELECT id, amount_minor, currency, destination FROM payouts.payouts
         WHERE status = 'pending' AND provider = 'sandbox' ORDER BY id LIMIT 10000`,
      );
      let submitted = 0;
      let failed = 0;
      for (const row of pending.rows) {
        try {
          const response = await fetch(`${options.baseUrl}/v1/payout_provider/transfers`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': row.id },
            body: JSON.stringify({
              external_id: row.id,
              amount_minor: row.amount_minor.toString(),
              currency: row.currency,
              destination: row.destination,
              notify_url: options.notifyUrl,
              ...(options.completeAfterMs === undefined
                ? {}
                : { complete_after_ms: options.completeAfterMs }),
            }),
            signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
          });
          if (!response.ok) throw new Error(`sandbox payout provider answered ${response.status}`);
          const transfer = (await response.json()) as { id: string };
          await withTransaction(deps.pool, (client) =>
            markInTransit(client, row.id, {
              source: 'sandbox',
              reference: transfer.id,
              providerReference: transfer.id,
            }),
          );
          submitted++;
        } catch (error) {
          failed++;
          deps.log.warn(
            { err: error, payoutId: row.id },
            'sandbox payout provider: submission failed; retried at the next run',
          );
        }
      }
      return { submitted, failed, files: [] };
    },
  };
}
