/**
 * Test cards: what a card number (or one of Stripe's well-known `pm_card_…` ids) makes a payment do, following
 * Stripe's published test cards. Pure; the payment engine acts on the behaviour.
 */

export interface Decline {
  /** Stripe's error `code` (card_declined, expired_card, incorrect_cvc, processing_error…). */
  code: string;
  /** Stripe's `decline_code`. */
  declineCode: string;
  message: string;
}

export type CardBehaviour =
  | { kind: 'succeed'; bypassPending: boolean }
  | { kind: 'decline'; decline: Decline }
  /** Needs a 3-D Secure challenge before it can succeed. */
  | { kind: 'three_ds' }
  /** Stays `processing` (in review) until settled after a delay or by the admin endpoint. */
  | { kind: 'review' }
  /** Succeeds, then is disputed as fraudulent. */
  | { kind: 'dispute' };

export interface CardDetails {
  number: string;
  brand: 'visa' | 'mastercard' | 'amex' | 'discover' | 'unknown';
  funding: 'credit' | 'debit';
  last4: string;
  behaviour: CardBehaviour;
}

const GENERIC = 'Your card was declined.';

function decline(code: string, declineCode: string, message: string): CardBehaviour {
  return { kind: 'decline', decline: { code, declineCode, message } };
}

/** Test card numbers and their behaviour. 4000000000009235 is the sandbox's choice for "payment in review". */
export const TEST_CARDS: Record<string, CardBehaviour> = {
  '4242424242424242': { kind: 'succeed', bypassPending: false },
  '4000056655665556': { kind: 'succeed', bypassPending: false },
  '5555555555554444': { kind: 'succeed', bypassPending: false },
  '378282246310005': { kind: 'succeed', bypassPending: false },
  '6011111111111117': { kind: 'succeed', bypassPending: false },
  '4000000000000077': { kind: 'succeed', bypassPending: true },
  '4000000000000002': decline('card_declined', 'generic_decline', GENERIC),
  '4000000000009995': decline('card_declined', 'insufficient_funds', 'Your card has insufficient funds.'),
  '4000000000009987': decline('card_declined', 'lost_card', GENERIC),
  '4000000000009979': decline('card_declined', 'stolen_card', GENERIC),
  '4000000000000069': decline('expired_card', 'expired_card', 'Your card has expired.'),
  '4000000000000127': decline('incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect."),
  '4000000000000119': decline(
    'processing_error',
    'processing_error',
    'An error occurred while processing your card. Try again in a little bit.',
  ),
  '4100000000000019': decline('card_declined', 'fraudulent', GENERIC),
  '4000002500003155': { kind: 'three_ds' },
  '4000002760003184': { kind: 'three_ds' },
  '4000000000003220': { kind: 'three_ds' },
  '4000000000009235': { kind: 'review' },
  '4000000000000259': { kind: 'dispute' },
  // Refund test cards (sandbox/refunds.ts): the charge succeeds; its refunds fail later.
  '4000000000005126': { kind: 'succeed', bypassPending: false },
  '4000000000005118': { kind: 'succeed', bypassPending: false },
  '4000000000007726': { kind: 'succeed', bypassPending: false },
};

/** Stripe's well-known test PaymentMethod ids, usable without creating anything. */
export const TEST_PAYMENT_METHODS: Record<string, string> = {
  pm_card_visa: '4242424242424242',
  pm_card_visa_debit: '4000056655665556',
  pm_card_mastercard: '5555555555554444',
  pm_card_amex: '378282246310005',
  pm_card_discover: '6011111111111117',
  pm_card_bypassPending: '4000000000000077',
  pm_card_chargeDeclined: '4000000000000002',
  pm_card_visa_chargeDeclined: '4000000000000002',
  pm_card_chargeDeclinedInsufficientFunds: '4000000000009995',
  pm_card_visa_chargeDeclinedInsufficientFunds: '4000000000009995',
  pm_card_chargeDeclinedLostCard: '4000000000009987',
  pm_card_visa_chargeDeclinedLostCard: '4000000000009987',
  pm_card_chargeDeclinedStolenCard: '4000000000009979',
  pm_card_visa_chargeDeclinedStolenCard: '4000000000009979',
  pm_card_chargeDeclinedExpiredCard: '4000000000000069',
  pm_card_visa_chargeDeclinedExpiredCard: '4000000000000069',
  pm_card_chargeDeclinedIncorrectCvc: '4000000000000127',
  pm_card_visa_chargeDeclinedIncorrectCvc: '4000000000000127',
  pm_card_chargeDeclinedProcessingError: '4000000000000119',
  pm_card_visa_chargeDeclinedProcessingError: '4000000000000119',
  pm_card_chargeDeclinedFraudulent: '4100000000000019',
  pm_card_visa_chargeDeclinedFraudulent: '4100000000000019',
  pm_card_authenticationRequired: '4000002760003184',
  pm_card_threeDSecure2Required: '4000000000003220',
  pm_card_authenticationRequiredOnSetup: '4000002500003155',
  pm_card_createDispute: '4000000000000259',
  pm_card_sandbox_review: '4000000000009235',
  pm_card_refundFailsLater: '4000000000005126',
  pm_card_sandbox_refundFails: '4000000000005118',
  pm_card_refundPending: '4000000000007726',
};

export function luhnValid(number: string): boolean {
  if (!/^\d{12,19}$/.test(number)) return false;
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let digit = number.charCodeAt(number.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

export function brandOf(number: string): CardDetails['brand'] {
  if (number.startsWith('4')) return 'visa';
  if (/^(5[1-5]|2[2-7])/.test(number)) return 'mastercard';
  if (/^3[47]/.test(number)) return 'amex';
  if (/^6(011|5)/.test(number)) return 'discover';
  return 'unknown';
}

/**
 * Reads a card number as typed (spaces and dashes allowed). Returns undefined when it is not a plausible card
 * number (Stripe's `incorrect_number`). A valid number that is not a test card is declined, as Stripe's test mode
 * declines real cards.
 */
export function readCard(typed: string): CardDetails | undefined {
  const number = typed.replace(/[\s-]/g, '');
  if (!luhnValid(number)) return undefined;
  const behaviour =
    TEST_CARDS[number] ??
    decline(
      'card_declined',
      'test_mode_live_card',
      'Your card was declined. Your request was in test mode, but used a non test card.',
    );
  return {
    number,
    brand: brandOf(number),
    funding: number === '4000056655665556' ? 'debit' : 'credit',
    last4: number.slice(-4),
    behaviour,
  };
}

/** Reads an expiry typed as `MM/YY`, `MM / YY` or `MM/YYYY`. */
export function readExpiry(typed: string): { month: number; year: number } | undefined {
  const match = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(typed);
  if (match === null) return undefined;
  const month = Number.parseInt(match[1] ?? '', 10);
  let year = Number.parseInt(match[2] ?? '', 10);
  if (year < 100) year += 2000;
  if (month < 1 || month > 12) return undefined;
  return { month, year };
}

/** True when the card's expiry month has passed at `now` (a card is valid through the end of its month). */
export function isExpired(expiry: { month: number; year: number }, now: Date): boolean {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  return expiry.year < year || (expiry.year === year && expiry.month < month);
}
