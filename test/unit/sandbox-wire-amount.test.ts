import { describe, expect, it } from 'vitest';
import { StripeApiError } from '../../sandbox/errors.ts';
import { balanceTransactionObject, payoutObject, refundObject } from '../../sandbox/objects.ts';
import { Params } from '../../sandbox/params.ts';
import { amountFromWire, amountToWire } from '../../sandbox/wire-amount.ts';

function caught(run: () => unknown): StripeApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof StripeApiError) return error;
    throw error;
  }
  throw new Error('expected a StripeApiError');
}

describe('amountFromWire reads wire and stored amounts as bigint minor units', () => {
  it('accepts bigints, safe-integer numbers and signed digit strings', () => {
    expect(amountFromWire(1234n)).toBe(1234n);
    expect(amountFromWire(1234)).toBe(1234n);
    expect(amountFromWire(-50)).toBe(-50n);
    expect(amountFromWire(0)).toBe(0n);
    expect(amountFromWire('999')).toBe(999n);
    expect(amountFromWire('-999')).toBe(-999n);
    expect(amountFromWire(Number.MAX_SAFE_INTEGER)).toBe(9007199254740991n);
    expect(amountFromWire('90071992547409910')).toBe(90071992547409910n);
  });

  it.each([
    ['a fraction', 12.5],
    ['an unsafe integer', Number.MAX_SAFE_INTEGER + 1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a decimal string', '12.50'],
    ['an empty string', ''],
    ['a string with spaces', ' 12'],
    ['an exponent string', '1e3'],
    ['a plus sign', '+12'],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
    ['an object', { amount: 1 }],
  ])('rejects %s with a Stripe invalid_request_error naming the param', (_label, value) => {
    const error = caught(() => amountFromWire(value, 'line_items[0][price_data][unit_amount]'));
    expect(error.status).toBe(400);
    expect(error.body.type).toBe('invalid_request_error');
    expect(error.body.param).toBe('line_items[0][price_data][unit_amount]');
    expect(error.body.message).toMatch(/^Invalid integer: /);
  });

  it('names `amount` when no param is given', () => {
    expect(caught(() => amountFromWire('x')).body.param).toBe('amount');
  });
});

describe('amountToWire writes bigint minor units as exact JSON integers', () => {
  it('converts amounts within the safe-integer range exactly', () => {
    expect(amountToWire(0n)).toBe(0);
    expect(amountToWire(-1500n)).toBe(-1500);
    expect(amountToWire(9007199254740991n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(amountToWire(-9007199254740991n)).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('refuses an amount a JSON number cannot carry exactly, as an internal error', () => {
    for (const minor of [9007199254740992n, -9007199254740992n, 10n ** 30n]) {
      const error = caught(() => amountToWire(minor));
      expect(error.status).toBe(500);
      expect(error.body.type).toBe('api_error');
    }
  });

  it('round-trips with amountFromWire', () => {
    for (const minor of [0n, 1n, -1n, 99_999_999n, 9007199254740991n]) {
      expect(amountFromWire(amountToWire(minor))).toBe(minor);
    }
  });
});

describe('amount form parameters parse to bigint with Stripe-like validation', () => {
  it('reads a decimal string as bigint', () => {
    expect(new Params({ amount: '2000' }, ['amount']).amount('amount', { required: true })).toBe(2000n);
    expect(new Params({}, ['amount']).amount('amount')).toBeUndefined();
  });

  it('keeps the integer, bounds and missing-parameter errors of integer parameters', () => {
    const params = (value: string) => new Params({ amount: value }, ['amount']);
    expect(caught(() => params('12.5').amount('amount')).body).toMatchObject({
      message: 'Invalid integer: 12.5',
      param: 'amount',
    });
    expect(caught(() => params('1234567890123456').amount('amount')).body.message).toBe(
      'Invalid integer: 1234567890123456',
    );
    expect(caught(() => params('0').amount('amount', { min: 1n })).body.message).toBe(
      'This value must be greater than or equal to 1.',
    );
    expect(caught(() => params('100000000').amount('amount', { max: 99_999_999n })).body.message).toBe(
      'This value must be less than or equal to 99999999.',
    );
    expect(caught(() => new Params({}, ['amount']).amount('amount', { required: true })).body).toMatchObject({
      code: 'parameter_missing',
      param: 'amount',
    });
    const nested = new Params({ unit_amount: 'x' }, ['unit_amount'], 'line_items[0][price_data]');
    expect(caught(() => nested.amount('unit_amount')).body.param).toBe(
      'line_items[0][price_data][unit_amount]',
    );
  });
});

describe('object builders put bigint amounts on the wire as the same JSON integers', () => {
  it('a balance transaction carries amount, fee, fee_details and net as integers', () => {
    const txn = balanceTransactionObject({
      id: 'txn_1',
      created: 1,
      availableOn: 2,
      amountMinor: 2000n,
      feeMinor: 88n,
      currency: 'usd',
      description: null,
      source: 'ch_1',
      type: 'charge',
      reportingCategory: 'charge',
    });
    expect(JSON.stringify({ amount: txn.amount, fee: txn.fee, net: txn.net })).toBe(
      '{"amount":2000,"fee":88,"net":1912}',
    );
    expect(txn.fee_details).toEqual([
      {
        amount: 88,
        application: null,
        currency: 'usd',
        description: 'Stripe processing fees',
        type: 'stripe_fee',
      },
    ]);
  });

  it('a fee-free negative transaction has no fee details and a negative net', () => {
    const txn = balanceTransactionObject({
      id: 'txn_2',
      created: 1,
      availableOn: 1,
      amountMinor: -500n,
      feeMinor: 0n,
      currency: 'usd',
      description: null,
      source: 're_1',
      type: 'refund',
      reportingCategory: 'refund',
    });
    expect(txn).toMatchObject({ amount: -500, fee: 0, net: -500, fee_details: [] });
  });

  it('refunds and payouts carry their amount as an integer', () => {
    const refund = refundObject({
      id: 're_1',
      created: 1,
      amountMinor: 700n,
      currency: 'usd',
      charge: 'ch_1',
      paymentIntent: 'pi_1',
      balanceTransaction: 'txn_1',
      metadata: {},
      reason: null,
    });
    const payout = payoutObject({
      id: 'po_1',
      created: 1,
      arrivalDate: 1,
      amountMinor: 12_345n,
      currency: 'jpy',
      automatic: true,
      balanceTransaction: 'txn_2',
      description: null,
      metadata: {},
    });
    expect(refund.amount).toBe(700);
    expect(payout.amount).toBe(12_345);
  });
});
