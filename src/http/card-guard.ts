import { AppError } from '../errors.ts';

/**
 * We never hold card numbers. A request that carries one is refused (`card_data_not_accepted`, 400) before
 * anything stores or logs it. The guard judges what a route would see, not the bytes on the wire:
 *
 * - every string at every depth of the parsed JSON body, keys included (so JSON `\u0034` escapes are decoded),
 * - every JSON number, by its exact value and by its digits (`4.111111111111111e15` is a card number too),
 * - query strings and path parameters, the `Idempotency-Key` header (stored) and the `X-Request-Id` header (logged;
 *   a card-like one is simply not adopted as the request id),
 * - the decoded text of uploaded files: XML character references (`&#52;`, `&#x34;`) are decoded first.
 *
 * Before looking for a card number a text is normalised: NFKC (full-width and other compatibility digits become
 * ASCII), every other Unicode decimal digit (Arabic-Indic, Devanagari, …) is read as its value, and the separators
 * people or encoders put between digits are removed: spaces of any kind, tabs, dots, slashes, dashes of any kind,
 * and invisible format characters. A card number is then a run of 13–19 digits, bounded by non-digits (letters
 * next to it do not hide it), that passes the Luhn check. A longer run is some other number.
 *
 * Fields where long digit strings are expected (a bank account number on a seller's payout settings) are named in
 * LONG_DIGIT_FIELDS, route by route; nowhere else is a Luhn-valid run let through.
 */

/** The fields, per route (`METHOD /route/pattern`), where a Luhn-valid run of digits is expected data. */
export const LONG_DIGIT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  // A US account number is up to 17 digits and an IBAN's digits run to 30; one in ten passes the Luhn check.
  'POST /v1/sellers': ['payout.account_number', 'payout.iban'],
  'PATCH /v1/sellers/:seller_account': ['payout.account_number', 'payout.iban'],
};

const SEPARATORS = /[\p{Zs}\t./\\\p{Pd}\p{Cf}]+/gu;
const NON_ASCII = /[^\p{ASCII}]/u;
const UNICODE_DIGIT = /\p{Nd}/gu;
const RUN = /(?<![0-9])[0-9]{13,19}(?![0-9])/g;

/** The value of every non-ASCII decimal digit: Unicode lays each set out as ten code points from its zero. */
const DIGIT_VALUES: ReadonlyMap<string, string> = (() => {
  const values = new Map<string, string>();
  const isDigit = /^\p{Nd}$/u;
  let runStart = -1;
  for (let cp = 0x80; cp <= 0x1fbff; cp += 1) {
    const char = String.fromCodePoint(cp);
    if (!isDigit.test(char)) {
      runStart = -1;
      continue;
    }
    if (runStart < 0) runStart = cp;
    values.set(char, String((cp - runStart) % 10));
  }
  return values;
})();

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let digit = digits.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML character and entity references decoded, as an XML reader would (a camt upload is XML in a JSON string). */
export function decodeXmlReferences(text: string): string {
  return text.replace(
    /&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|(amp|lt|gt|quot|apos));/g,
    (whole, dec, hex, name) => {
      if (typeof name === 'string') return NAMED_ENTITIES[name] ?? whole;
      const cp = typeof dec === 'string' ? Number.parseInt(dec, 10) : Number.parseInt(String(hex), 16);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
    },
  );
}

/** The text as the card check reads it: compatibility forms folded, every digit ASCII, separators removed. */
export function normaliseForCardCheck(text: string): string {
  let folded = text.normalize('NFKC');
  if (NON_ASCII.test(folded)) {
    folded = folded.replace(UNICODE_DIGIT, (digit) => DIGIT_VALUES.get(digit) ?? digit);
  }
  return folded.replace(SEPARATORS, '');
}

function hasLuhnRun(digitsText: string): boolean {
  for (const match of digitsText.matchAll(RUN)) if (luhnValid(match[0])) return true;
  return false;
}

/**
 * False only when `text` cannot hold a card number: ASCII without `&` (so normalising and decoding change nothing
 * but remove separators) and fewer than 13 digits. Most keys and values of a body are such; they skip the regexes.
 */
function tooFewDigits(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0x80 || code === 0x26) return false;
    if (code >= 0x30 && code <= 0x39 && ++digits >= 13) return false;
  }
  return true;
}

/** True when `text` holds something that could be a card number (a PAN) under the rule above. */
export function containsCardNumber(text: string): boolean {
  if (tooFewDigits(text)) return false;
  if (hasLuhnRun(normaliseForCardCheck(text))) return true;
  return text.includes('&') && hasLuhnRun(normaliseForCardCheck(decodeXmlReferences(text)));
}

/**
 * The exact integer a JSON number token denotes, as digits, or undefined when it is not an integer. Works on the
 * token's text, so `4.111111111111111111e18` is not rounded through a double.
 */
export function integerDigitsOf(token: string): string | undefined {
  const match = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token);
  if (match === null) return undefined;
  const digits = `${match[1] ?? ''}${match[2] ?? ''}`;
  const exponent = Number.parseInt(match[3] ?? '0', 10);
  if (!Number.isFinite(exponent) || exponent > 40) return undefined;
  const point = (match[1] ?? '').length + exponent;
  if (point <= 0) return /^0*$/.test(digits) ? '0' : undefined;
  const whole = point >= digits.length ? digits + '0'.repeat(point - digits.length) : digits.slice(0, point);
  if (point < digits.length && !/^0*$/.test(digits.slice(point))) return undefined;
  return whole.replace(/^0+(?=\d)/, '');
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** The number tokens of JSON text (strings skipped). */
export function jsonNumberTokens(text: string): string[] {
  const tokens: string[] = [];
  let inString = false;
  // By character code: a one-character string and a regex test per character cost more than the scan itself.
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i += 1;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) inString = true;
    else if (code === MINUS || (code >= DIGIT_0 && code <= DIGIT_9)) {
      const token = /^-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400))?.[0];
      if (token !== undefined) {
        tokens.push(token);
        i += token.length - 1;
      }
    }
  }
  return tokens;
}

function numberHoldsCard(token: string): boolean {
  const integer = integerDigitsOf(token);
  if (integer !== undefined && hasLuhnRun(integer)) return true;
  // The digits as written, point and exponent aside: `4111.111111111111` is typed like a card.
  return hasLuhnRun(
    token
      .replace(/^-/, '')
      .replace(/[eE].*$/, '')
      .replace('.', ''),
  );
}

function refuse(field: string): never {
  throw new AppError(
    'card_data_not_accepted',
    `${field}: looks like a card number; Bursar never takes card data, send a PSP token instead`,
    { field },
  );
}

/**
 * False for a number that cannot hold a card number: not finite, or an integer of at most 12 digits (its JSON text
 * is those digits alone, so neither reading in `numberHoldsCard` finds a run of 13).
 */
function mayHoldCard(value: number): boolean {
  return Number.isFinite(value) && !(Number.isInteger(value) && Math.abs(value) < 1e12);
}

/** A value's field, dot-joined (a module function: a closure per value visited cost more than the check). */
function fieldName(path: readonly string[], context: string): string {
  return path.length === 0 ? context : path.join('.');
}

/**
 * Refuses (400 `card_data_not_accepted`) a parsed value holding a card number in any string, key or number, at any
 * depth, except in the fields `allowed` names (dot-joined paths; array indexes are skipped in the names).
 */
export function assertNoCardData(value: unknown, context: string, allowed: readonly string[] = []): void {
  const stack: Array<{ value: unknown; path: string[] }> = [{ value, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const current = item.value;
    const path = item.path;
    // Named only when a value is refused or might be let through (joining every path would cost more than the check).
    if (typeof current === 'string') {
      if (containsCardNumber(current) && !allowed.includes(fieldName(path, context)))
        refuse(fieldName(path, context));
    } else if (typeof current === 'number') {
      if (mayHoldCard(current) && numberHoldsCard(JSON.stringify(current))) refuse(fieldName(path, context));
    } else if (Array.isArray(current)) {
      for (const element of current as unknown[]) stack.push({ value: element, path: item.path });
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, element] of Object.entries(current)) {
        if (containsCardNumber(key)) refuse(fieldName(path, context));
        stack.push({ value: element, path: [...item.path, key] });
      }
    }
  }
}

/** Refuses JSON text whose number tokens hold a card number (before they are rounded through a double). */
export function assertNoCardNumbersInJson(text: string): void {
  for (const token of jsonNumberTokens(text)) if (numberHoldsCard(token)) refuse('body');
}

/** The long-digit fields of a route, from its method and route pattern. */
export function longDigitFieldsOf(method: string, routeUrl: string | undefined): readonly string[] {
  return routeUrl === undefined ? [] : (LONG_DIGIT_FIELDS[`${method} ${routeUrl}`] ?? []);
}
