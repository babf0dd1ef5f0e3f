import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containsCardNumber, luhnValid } from '../../src/http/card-guard.ts';

describe('card number guard', () => {
  it('recognises Luhn-valid numbers of 13 to 19 digits, however they are typed', () => {
    expect(containsCardNumber('{"note":"4242424242424242"}')).toBe(true);
    expect(containsCardNumber('{"n":4242424242424242}')).toBe(true);
    expect(containsCardNumber('card 4242 4242 4242 4242 please')).toBe(true);
    expect(containsCardNumber('4242-4242-4242-4242')).toBe(true);
    expect(containsCardNumber('378282246310005')).toBe(true); // Amex, 15 digits
    expect(containsCardNumber('4222222222222')).toBe(true); // 13-digit Visa test number
  });

  it('lets through numbers that fail Luhn, are too short or too long', () => {
    expect(containsCardNumber('4242424242424241')).toBe(false); // Luhn fails
    expect(containsCardNumber('424242424242')).toBe(false); // 12 digits
    expect(containsCardNumber('42424242424242424242')).toBe(false); // 20 digits: some other number
    expect(containsCardNumber('{"amount":"12.34","checkout_id":"chk_1"}')).toBe(false);
  });

  it('agrees with a reference Luhn implementation on random digit strings', () => {
    const reference = (digits: string): boolean => {
      const sum = [...digits]
        .reverse()
        .map((char, index) => {
          const value = Number(char) * (index % 2 === 1 ? 2 : 1);
          return value > 9 ? value - 9 : value;
        })
        .reduce((a, b) => a + b, 0);
      return sum % 10 === 0;
    };
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{13,19}$/), (digits) => {
        expect(luhnValid(digits)).toBe(reference(digits));
        expect(containsCardNumber(`x ${digits} y`)).toBe(reference(digits));
      }),
      { numRuns: 2000 },
    );
  });
});
