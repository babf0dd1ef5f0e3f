import { z } from 'zod';
import type { App } from '../http/app.ts';
import { errorResponses } from '../http/schemas.ts';
import { removeSellerBankAccount } from './bank-account-removal.ts';
import type { PayoutsRuntime } from './runtime.ts';

/**
 * `DELETE /v1/sellers/{seller_account}/bank_accounts/{currency}` (docs/payouts.md "Removing a currency's account"):
 * removes the seller's account of one payout currency, as Stripe's DELETE of an external account does. It is served
 * by the payouts module because what may refuse it is the payouts' state (bank-account-removal.ts).
 */

const Params = z.object({
  seller_account: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -'),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'a three-letter ISO 4217 currency code'),
});

export const DeletedBankAccountWire = z.object({
  object: z.literal('bank_account'),
  seller_account: z.string(),
  currency: z.string(),
  deleted: z.literal(true),
});

export function bankAccountRemovalRoute(app: App, runtime: PayoutsRuntime): void {
  const { ctx } = runtime;
  app.delete(
    '/v1/sellers/:seller_account/bank_accounts/:currency',
    {
      config: { auth: { scope: 'payments:write' } },
      schema: {
        summary: "Remove a seller's bank account of one currency",
        description:
          "Removes the seller's payout account of that currency (audited in the bank-details history). Refused for " +
          "the seller's own currency (422 `bank_account_is_default`: replace it with PATCH), while payouts in the " +
          'currency are pending or in transit (409 `bank_account_payouts_in_flight`), and when there is none (404 ' +
          '`bank_account_not_found`). The balance in the currency stays; the payout run leaves it unpaid ' +
          '(`no_bank_details`) until an account of that currency is given again, and new orders in it are converted ' +
          "into the seller's own currency.",
        tags: ['sellers'],
        params: Params,
        response: { 200: DeletedBankAccountWire, ...errorResponses() },
      },
    },
    async (request) => {
      const { seller_account: sellerAccount, currency } = request.params;
      const removed = await removeSellerBankAccount(ctx.pool, {
        sellerAccount,
        currency,
        apiKeyId: request.apiKey?.id ?? null,
      });
      ctx.log.info({ seller: sellerAccount, currency: removed.currency }, 'seller bank account removed');
      return {
        object: 'bank_account' as const,
        seller_account: sellerAccount,
        currency: removed.currency,
        deleted: true as const,
      };
    },
  );
}
