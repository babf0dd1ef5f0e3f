/**
 * We never hold card numbers. A 13–19 digit run that passes the Luhn check, anywhere in a request body (digits
 * may be separated by single spaces or dashes, as people type them), is refused before it is parsed, stored or
 * logged.
 */
const CANDIDATE = /(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])/g;

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

/** True when `text` holds something that could be a card number (a PAN) under the rule above. */
export function containsCardNumber(text: string): boolean {
  for (const match of text.matchAll(CANDIDATE)) {
    // The whole run is judged, as a PAN would be typed; a longer run of digits is some other number.
    if (luhnValid(match[0].replace(/[ -]/g, ''))) return true;
  }
  return false;
}
