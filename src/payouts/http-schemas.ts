import { z } from 'zod';
import { MaskedBankAccount } from '../sellers/index.ts';
import type { Readable } from 'node:stream';
import { Amount, errorResponses, Timestamp } from '../http/schemas.ts';

/**
 * The response schemas of the pay-out routes (docs/payouts.md). The serializer drops any field not listed here; the
 * wire functions' return types are inferred from these schemas, so a field added to one must be added here.
 */

const PayoutStatus = z.enum(['pending', 'in_transit', 'paid', 'returned']);

/** A bank account as the API shows it: masked, never the full number. */

export const PayoutStatusStepWire = z.object({
  from: PayoutStatus.nullable(),
  to: PayoutStatus,
  reason: z.string().nullable(),
  source: z.string(),
  reference: z.string().nullable(),
  at: Timestamp,
});

export const PayoutWire = z.object({
  object: z.literal('payout'),
  id: z.string(),
  seller_account: z.string(),
  amount: Amount,
  currency: z.string(),
  status: PayoutStatus,
  source: z.enum(['scheduled', 'manual']),
  run_date: z.string().nullable().describe('YYYY-MM-DD of the payout run, null for a manual payout'),
  provider: z.string(),
  provider_reference: z.string().nullable(),
  payout_file_id: z.string().nullable(),
  destination: MaskedBankAccount.nullable(),
  return_reason: z.string().nullable(),
  ledger_entry_id: z.string(),
  created_at: Timestamp,
  updated_at: Timestamp,
  status_history: z
    .array(PayoutStatusStepWire)
    .optional()
    .describe('on GET /v1/payouts/{id} and on creation'),
});
export type PayoutWire = z.infer<typeof PayoutWire>;

export const PayoutFileWire = z.object({
  object: z.literal('payout_file'),
  id: z.string(),
  format: z.string(),
  message_id: z.string(),
  run_date: z.string(),
  debtor_iban: z.string().nullable().describe('pain.001: the debtor account; null for an ACH file'),
  currency: z.string(),
  transactions: z.number().int(),
  control_sum: Amount,
  size_bytes: z.number().int(),
  sha256: z.string().nullable(),
  created_at: Timestamp,
  download_url: z.string(),
});
export type PayoutFileWire = z.infer<typeof PayoutFileWire>;

/** `GET /v1/payout-files/{id}`: the pain.001 XML itself. */
export const PayoutFileDownload = {
  description:
    'the ISO 20022 pain.001 credit-transfer file, or the NACHA ACH file (format nacha, text/plain)',
  content: { 'application/xml': { schema: z.string() }, 'text/plain': { schema: z.string() } },
};

/**
 * A payout file goes out as the stream it is stored as (Fastify sends a stream without serializing it); the
 * route's 200 schema documents the XML text the stream carries, which is what this type says.
 */
export function xmlStream(stream: Readable): string {
  return stream as unknown as string;
}

/** What the sandbox payout provider's webhook answers to a verified event. */
export const PayoutWebhookReceived = z.object({ received: z.literal(true), duplicate: z.boolean() });

/** The sandbox payout provider's webhook: signature-authenticated (no API key). */
export const SANDBOX_WEBHOOK_ROUTE = {
  config: { auth: 'signature' },
  schema: { response: { 200: PayoutWebhookReceived, ...errorResponses() } },
} as const;
