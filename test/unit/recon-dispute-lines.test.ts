import { describe, expect, it } from 'vitest';
import { classifyPspLine, type PspLineContext } from '../../src/reconciliation/domain/classify-psp.ts';
import type { PspLine } from '../../src/reconciliation/psp-report/reader.ts';

function line(category: string, gross: bigint, fee: bigint): PspLine & { importId: string } {
  return {
    importId: 'rimp_1',
    line: 2,
    balanceTransactionId: 'txn_1',
    category,
    currency: 'USD',
    grossMinor: gross,
    feeMinor: fee,
    netMinor: gross - fee,
    createdAt: undefined,
    availableOn: undefined,
    sourceId: 'dp_1',
    description: undefined,
    chargeId: 'ch_1',
    paymentIntentId: 'pi_1',
    payoutId: undefined,
    payoutEffectiveAt: undefined,
    disputeReason: 'fraudulent',
    metadata: {},
  };
}

function ctx(booked: bigint | undefined, fee: bigint | undefined, orders = 0): PspLineContext {
  return {
    seenBefore: undefined,
    orders: Array.from({ length: orders }, (_, i) => ({
      paymentOrderId: `po${i}`,
      checkoutId: 'co',
      amountMinor: 1000n,
      currency: 'USD',
      status: 'SUCCESS' as const,
      pspPaymentId: 'pi_1',
    })),
    matchedBy: orders > 0 ? 'payment_intent_id' : undefined,
    ordersMatchedByOther: undefined,
    feeBookedMinor: fee,
    bookedEntryMinor: booked,
  };
}

describe('reconciliation of dispute lines', () => {
  it('a dispute line matches its booked withdrawal and fee; a dispute we never booked is dispute_unbooked', () => {
    expect(classifyPspLine(line('dispute', -1000n, 1500n), ctx(1000n, 1500n))).toMatchObject({
      matched: true,
      findings: [],
    });
    const unbooked = classifyPspLine(line('dispute', -1000n, 1500n), ctx(undefined, undefined, 1));
    expect(unbooked.findings.map((f) => f.kind)).toEqual(['dispute_unbooked', 'psp_fee_unbooked']);
    const differs = classifyPspLine(line('dispute', -1000n, 1500n), ctx(900n, 1500n));
    expect(differs.findings.map((f) => f.kind)).toEqual(['amount_mismatch']);
  });

  it('a dispute_reversal line matches the reinstatement (amount and fee returned); otherwise a finding names it', () => {
    const reversal = line('dispute_reversal', 1000n, -1500n);
    expect(classifyPspLine(reversal, ctx(2500n, undefined))).toMatchObject({ matched: true, findings: [] });
    expect(classifyPspLine(reversal, ctx(1000n, undefined)).findings[0]).toMatchObject({
      kind: 'amount_mismatch',
      amountMinor: 1500n,
    });
    expect(classifyPspLine(reversal, ctx(undefined, undefined, 1)).findings[0]?.kind).toBe(
      'dispute_unbooked',
    );
    expect(classifyPspLine(reversal, ctx(undefined, undefined, 0)).findings[0]?.kind).toBe(
      'unmatched_psp_line',
    );
  });
});
