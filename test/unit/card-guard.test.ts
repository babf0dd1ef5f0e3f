import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertNoCardData,
  assertNoCardNumbersInJson,
  containsCardNumber,
  decodeXmlReferences,
  integerDigitsOf,
  jsonNumberTokens,
  luhnValid,
  normaliseForCardCheck,
} from '../../src/http/card-guard.ts';

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

describe('the card guard reads values as a route would (issue 11, item 2)', () => {
  it('reads exponent-form numbers by their exact value, without rounding through a double', () => {
    expect(integerDigitsOf('4.111111111111111e15')).toBe('4111111111111111');
    expect(integerDigitsOf('4.111111111111111111e18')).toBe('4111111111111111111');
    expect(integerDigitsOf('411111111111111100e-2')).toBe('4111111111111111');
    expect(integerDigitsOf('12.34')).toBeUndefined();
    expect(integerDigitsOf('-0')).toBe('0');
  });

  it('decodes XML character references and folds Unicode digits and separators', () => {
    expect(decodeXmlReferences('&#52;&#x31;&amp;')).toBe('41&');
    expect(normaliseForCardCheck('４١1.1/1\t1 1-1\u20131\u200b1')).toBe('4111111111');
    expect(
      containsCardNumber('&#52;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;'),
    ).toBe(true);
    expect(containsCardNumber('ref4111111111111111x')).toBe(true);
  });

  it('refuses a card number written in XML references that hold no ASCII digit at all', () => {
    // Gujarati digits four to nine are U+0AEA–U+0AEF: their hexadecimal references are letters only, so a count of
    // ASCII digits alone would let this text through without the full check.
    const gujarati = (digits: string) =>
      [...digits].map((digit) => `&#x${(0x0ae6 + Number(digit)).toString(16)};`).join('');
    const written = gujarati('4999999999999996');
    expect(written).not.toMatch(/[0-9]/);
    expect(containsCardNumber(written)).toBe(true);
    expect(containsCardNumber(gujarati('4999999999999995'))).toBe(false);
  });

  it('keeps ordinary values: dates, amounts, ids and CSV lines are not joined across lines', () => {
    expect(containsCardNumber('2026-12-01T05:56:11.123Z 12.34 EUR po_123')).toBe(false);
    expect(containsCardNumber('a,b,1234567\n411111111,c')).toBe(false);
  });

  it('answers as the full normalising check does, whatever the text (its shortcut for short ASCII changes nothing)', () => {
    const luhnRun = (text: string) =>
      [...text.matchAll(/(?<![0-9])[0-9]{13,19}(?![0-9])/g)].some((match) => luhnValid(match[0]));
    const reference = (text: string) =>
      luhnRun(normaliseForCardCheck(text)) ||
      (text.includes('&') && luhnRun(normaliseForCardCheck(decodeXmlReferences(text))));
    // Texts built from digits, separators, letters, XML references and non-ASCII digits, around 13 digits long.
    const piece = fc.oneof(
      fc.constantFrom(
        '4',
        '1',
        '0',
        '7',
        '9',
        ' ',
        '-',
        '.',
        '/',
        'x',
        '&#52;',
        '&amp;',
        '\u2007',
        '٤',
        '４',
        '\u00a0',
      ),
      fc.stringMatching(/^[0-9]{1,6}$/),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join('');
        expect(containsCardNumber(text)).toBe(reference(text));
      }),
      { numRuns: 2000 },
    );
    expect(containsCardNumber('4111 1111 1111 1111')).toBe(true);
    expect(containsCardNumber('4111-1111-1111-111')).toBe(false);
  });

  it('finds every number token of JSON text, in order, and none inside its strings', () => {
    const numbersOf = (value: unknown, out: string[] = []): string[] => {
      if (typeof value === 'number') {
        if (Number.isFinite(value)) out.push(JSON.stringify(value));
      } else if (Array.isArray(value)) {
        for (const element of value as unknown[]) numbersOf(element, out);
      } else if (typeof value === 'object' && value !== null) {
        for (const element of Object.values(value)) numbersOf(element, out);
      }
      return out;
    };
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2), (value, indent) => {
        expect(jsonNumberTokens(JSON.stringify(value, null, indent))).toEqual(numbersOf(value));
      }),
      { numRuns: 1000 },
    );
    expect(jsonNumberTokens('{"k":"1\\"2\\\\","x":-3,"y":[4.5e+6,-0.25E-2]}')).toEqual([
      '-3',
      '4.5e+6',
      '-0.25E-2',
    ]);
  });

  it('refuses a number in a parsed body exactly when its JSON text would be refused', () => {
    const throws = (check: () => void): boolean => {
      try {
        check();
        return false;
      } catch {
        return true;
      }
    };
    const number = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: -1e12, max: 1e12 }),
      fc.maxSafeInteger(),
      fc.constantFrom(
        999_999_999_999,
        1e12,
        -1e12,
        4_222_222_222_222,
        4_111_111_111_111_111,
        4111.111111111111,
      ),
    );
    fc.assert(
      fc.property(number, (value) => {
        expect(throws(() => assertNoCardData({ value }, 'body'))).toBe(
          throws(() => assertNoCardNumbersInJson(JSON.stringify({ value }))),
        );
      }),
      { numRuns: 3000 },
    );
    expect(throws(() => assertNoCardData({ value: 4_222_222_222_222 }, 'body'))).toBe(true);
    expect(throws(() => assertNoCardData({ value: 999_999_999_999 }, 'body'))).toBe(false);
  });
});
