import type { Pool } from '../db/pool.ts';
import { sqlState, withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { getBalances, payoutStarted, postEntry, sellerAvailable } from '../ledger/index.ts';
import { assertCurrency, parseAmount } from '../money/index.ts';
import { requestFingerprint } from '../payins/index.ts';
import { findPayoutSettings, findSeller, lockSellers } from '../sellers/index.ts';
import { newPayoutId } from './ids.ts';
import { getHistory, getPayout, insertPayouts } from './store.ts';
import { payoutToWire } from './wire.ts';

export interface ManualPayoutRequest {
  apiKeyId: string;
  idempotencyKey: string;
  body: { seller_account: string; amount: unknown; currency: string; description?: string | undefined };
  provider: string;
  path: string;
}

export interface ManualPayoutResponse {
  status: number;
  body: unknown;
  replayed: boolean;
}

/**
 * A manual payout (`POST /v1/payouts`): refused above the seller's available balance, in another currency than
 * the seller's, or without bank details; otherwise the payout row, its ledger entry (available → in transit) and
 * the stored reply commit together. The same Idempotency-Key with the same body replays the reply; with another
 * body it is `idempotency_key_reused`. Refusals are not stored, so a retry after topping up is decided afresh.
 */
export async function createManualPayout(
  pool: Pool,
  request: ManualPayoutRequest,
): Promise<ManualPayoutResponse> {
  const fingerprint = requestFingerprint('POST', request.path, request.body);
  for (let attempt = 0; ; attempt++) {
    try {
      return await withTransaction(pool, async (client) => {
        const stored = await client.query<{
          fingerprint: Buffer;
          response_status: number;
          response_body: unknown;
        }>(
          'SELECT fingerprint, response_status, response_body FROM payouts.idempotency_keys WHERE api_key_id = $1 AND idempotency_key = $2',
          [request.apiKeyId, request.idempotencyKey],
        );
        const prior = stored.rows[0];
        if (prior) {
          if (!prior.fingerprint.equals(fingerprint)) {
            throw new AppError(
              'idempotency_key_reused',
              'this Idempotency-Key was used with a different request',
            );
          }
          return { status: prior.response_status, body: prior.response_body, replayed: true };
        }
        const body = request.body;
        const locked = await lockSellers(client, [body.seller_account]);
        const seller = locked.size === 1 ? await findSeller(client, body.seller_account) : undefined;
        if (!seller) {
          throw new AppError('seller_unknown', `no seller ${body.seller_account}`, {
            field: 'seller_account',
          });
        }
        const currency = (() => {
          try {
            return assertCurrency(body.currency);
          } catch (error) {
            throw error instanceof AppError ? error.atField('currency') : error;
          }
        })();
        if (currency !== seller.currency) {
          throw new AppError(
            'payout_currency_mismatch',
            `currency: seller ${seller.sellerAccount} is paid in ${seller.currency}, not ${currency}`,
            { field: 'currency' },
          );
        }
        let amountMinor: bigint;
        try {
          amountMinor = parseAmount(body.amount, currency);
        } catch (error) {
          throw error instanceof AppError ? error.atField('amount') : error;
        }
        const settings = await findPayoutSettings(client, seller.sellerAccount);
        if (settings.bank === null || settings.needsBankDetails) {
          throw new AppError(
            'bank_details_missing',
            settings.needsBankDetails
              ? `seller ${seller.sellerAccount} must give new bank details: ${settings.needsBankDetailsReason ?? 'a payout was returned'}`
              : `seller ${seller.sellerAccount} has no bank details; set payout.iban and payout.bic (or account and routing numbers)`,
            { field: 'seller_account' },
          );
        }
        const availableCode = sellerAvailable(seller.sellerAccount, currency).code;
        const available = (await getBalances(client, [availableCode])).get(availableCode)?.balanceMinor ?? 0n;
        if (amountMinor > available) {
          throw new AppError('payout_exceeds_available', `amount: above the seller's available balance`, {
            field: 'amount',
          });
        }
        const id = newPayoutId();
        const posted = await postEntry(
          client,
          payoutStarted({
            currency,
            payoutId: id,
            sellerId: seller.sellerAccount,
            amountMinor,
            metadata: { manual: true },
          }),
        );
        await insertPayouts(client, [
          {
            id,
            sellerAccount: seller.sellerAccount,
            currency,
            amountMinor,
            source: 'manual',
            runDate: null,
            provider: request.provider,
            destination: settings.bank,
            ledgerEntryId: posted.entryId,
            apiKeyId: request.apiKeyId,
            idempotencyKey: request.idempotencyKey,
            reason: body.description ?? 'manual payout',
            historySource: 'api',
          },
        ]);
        const payout = await getPayout(client, id);
        if (!payout) throw new Error(`payout ${id} vanished in its own transaction`);
        const response = { status: 201, body: payoutToWire(payout, await getHistory(client, id)) };
        await client.query(
          `INSERT INTO payouts.idempotency_keys (api_key_id, idempotency_key, fingerprint, response_status, response_body)
           VALUES ($1, $2, $3, $4, $5)`,
          [
            request.apiKeyId,
            request.idempotencyKey,
            fingerprint,
            response.status,
            JSON.stringify(response.body),
          ],
        );
        return { ...response, replayed: false };
      });
    } catch (error) {
      // A concurrent request with the same key committed first: answer from its stored reply.
      if (sqlState(error) === '23505' && attempt === 0) continue;
      throw error;
    }
  }
}
