import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { App } from '../http/app.ts';
import { errorResponses, Timestamp } from '../http/schemas.ts';
import { listBankCorrections, resolveBankCorrection, type BankCorrection } from './bank-corrections.ts';
import { getSellerOrThrow } from './service.ts';

/**
 * The operator's route to notifications of change (docs/payouts.md "NACHA ACH"): see them, confirm the corrected
 * details (they become the seller's, audited) or dismiss them. Account numbers are shown masked, as everywhere.
 */

const Params = z.object({
  seller_account: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -'),
});
const CorrectionParams = Params.extend({ id: z.string().regex(/^bc_[a-z0-9]{1,32}$/, 'a bc_ id') });
const ListQuery = z.object({ status: z.enum(['open', 'confirmed', 'dismissed']).optional() });
const ResolveBody = z
  .object({ note: z.string().trim().min(1).max(500).optional() })
  .strict()
  .nullish();

export const BankCorrectionWire = z.object({
  object: z.literal('bank_correction'),
  id: z.string(),
  seller_account: z.string(),
  payout_id: z.string(),
  change_code: z.string().describe('NACHA change code C01–C13'),
  corrected: z.object({
    account_last4: z.string().optional(),
    routing_number: z.string().optional(),
    account_type: z.enum(['checking', 'savings']).optional(),
    text: z.string().optional().describe('a corrected name or identification (shown, not applied)'),
  }),
  source: z.string(),
  status: z.enum(['open', 'confirmed', 'dismissed']),
  note: z.string().nullable(),
  resolved_by: z.string().nullable(),
  created_at: Timestamp,
  resolved_at: Timestamp.nullable(),
});
type BankCorrectionWire = z.infer<typeof BankCorrectionWire>;

export function bankCorrectionToWire(c: BankCorrection): BankCorrectionWire {
  const { accountNumber, routingNumber, accountType, text } = c.corrected;
  return {
    object: 'bank_correction',
    id: c.id,
    seller_account: c.sellerAccount,
    payout_id: c.payoutId,
    change_code: c.changeCode,
    corrected: {
      ...(accountNumber === undefined ? {} : { account_last4: accountNumber.slice(-4) }),
      ...(routingNumber === undefined ? {} : { routing_number: routingNumber }),
      ...(accountType === undefined ? {} : { account_type: accountType }),
      ...(text === undefined ? {} : { text }),
    },
    source: c.source,
    status: c.status,
    note: c.note,
    resolved_by: c.resolvedBy,
    created_at: c.createdAt.toISOString(),
    resolved_at: c.resolvedAt?.toISOString() ?? null,
  };
}

export function registerBankCorrectionRoutes(app: App, ctx: AppContext): void {
  app.get(
    '/v1/sellers/:seller_account/bank_corrections',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: "A seller's notifications of change",
        description:
          'The ACH notifications of change (addenda 98, C01–C13) read from return files for this seller, newest first, ' +
          'with the corrected details masked. Filter by `status` (open, confirmed, dismissed). Bursar never applies a ' +
          'correction by itself: an operator confirms or dismisses each.',
        tags: ['sellers'],
        params: Params,
        querystring: ListQuery,
        response: {
          200: z.object({ object: z.literal('list'), data: z.array(BankCorrectionWire) }),
          ...errorResponses(),
        },
      },
    },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      const found = await listBankCorrections(ctx.pool, seller.sellerAccount, request.query.status);
      return { object: 'list' as const, data: found.map(bankCorrectionToWire) };
    },
  );
  for (const action of ['confirm', 'dismiss'] as const) {
    app.post(
      `/v1/sellers/:seller_account/bank_corrections/:id/${action}`,
      {
        config: { auth: { scope: 'payments:write' } },
        schema: {
          summary:
            action === 'confirm'
              ? 'Confirm a notification of change: its corrected details become the seller’s'
              : 'Dismiss a notification of change: the seller’s details stay as they are',
          description:
            action === 'confirm'
              ? 'Applies the corrected account or routing details to the seller’s payout settings, checked as any bank ' +
                'detail change is and recorded in the bank-detail history; the seller is paid again by the next run. ' +
                'An already resolved correction answers 409 `bank_correction_resolved`.'
              : 'Closes the correction without changing the seller’s details (for example when the seller confirms ' +
                'the old ones are right). An already resolved correction answers 409 `bank_correction_resolved`.',
          tags: ['sellers'],
          params: CorrectionParams,
          body: ResolveBody,
          response: { 200: BankCorrectionWire, ...errorResponses() },
        },
      },
      async (request) => {
        const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
        const resolved = await resolveBankCorrection(ctx.pool, {
          sellerAccount: seller.sellerAccount,
          id: request.params.id,
          action,
          note: request.body?.note ?? null,
          apiKeyId: request.apiKey?.id ?? null,
        });
        return bankCorrectionToWire(resolved);
      },
    );
  }
}
