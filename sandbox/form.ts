/**
 * Stripe's form encoding: `application/x-www-form-urlencoded` bodies (and query strings) whose keys use bracket
 * notation for nesting — `metadata[order]=x`, `line_items[0][price_data][currency]=usd`, `expand[]=data.source`.
 * `parseForm` turns such a string into nested objects and arrays of strings; `encodeForm` does the reverse (used by
 * tests and by the hosted page). Values stay strings: each endpoint converts and validates its own parameters.
 */

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/** Keys that would reach Object.prototype if assigned; they are dropped, never interpreted. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
/** A bound on nesting so a hostile body cannot make us build deep structures. */
const MAX_DEPTH = 8;

export class FormError extends Error {
  readonly param: string;
  constructor(message: string, param: string) {
    super(message);
    this.name = 'FormError';
    this.param = param;
  }
}

/** Splits `a[b][0][]` into ['a', 'b', '0', '']. Returns undefined when the brackets are malformed. */
export function splitKey(key: string): string[] | undefined {
  const open = key.indexOf('[');
  if (open === -1) return [key];
  const segments = [key.slice(0, open)];
  let rest = key.slice(open);
  while (rest.length > 0) {
    const match = /^\[([^[\]]*)\]/.exec(rest);
    if (match === null) return undefined;
    segments.push(match[1] ?? '');
    rest = rest.slice(match[0].length);
  }
  return segments;
}

type Node = Map<string, Node | string>;

export function parseForm(input: string): FormObject {
  const root: Node = new Map();
  for (const [rawKey, value] of new URLSearchParams(input)) {
    const segments = splitKey(rawKey);
    if (segments === undefined || segments[0] === '')
      throw new FormError(`Invalid parameter name: ${rawKey}`, rawKey);
    if (segments.length > MAX_DEPTH) throw new FormError(`Parameter nested too deeply: ${rawKey}`, rawKey);
    if (segments.some((segment) => FORBIDDEN.has(segment))) continue;
    let node = root;
    for (let i = 0; i < segments.length; i++) {
      let segment = segments[i] ?? '';
      const last = i === segments.length - 1;
      // `a[]=x&a[]=y` appends: give the empty index the next free position.
      if (segment === '') segment = String(node.size);
      if (last) {
        node.set(segment, value);
      } else {
        let child = node.get(segment);
        if (typeof child === 'string') throw new FormError(`Invalid nested parameter: ${rawKey}`, rawKey);
        if (child === undefined) {
          child = new Map();
          node.set(segment, child);
        }
        node = child;
      }
    }
  }
  const result = toValue(root);
  return typeof result === 'object' && !Array.isArray(result) ? result : {};
}

/** Maps whose keys are all array indices become arrays (in index order); others become plain objects. */
function toValue(node: Node | string): FormValue {
  if (typeof node === 'string') return node;
  const keys = [...node.keys()];
  const isArray = keys.length > 0 && keys.every((key) => /^(0|[1-9]\d{0,3})$/.test(key));
  if (isArray) {
    return keys
      .map((key) => [Number.parseInt(key, 10), node.get(key)] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, child]) => toValue(child ?? ''));
  }
  const out: FormObject = {};
  for (const [key, child] of node) out[key] = toValue(child);
  return out;
}

/** Encodes nested values with bracket notation, arrays with indices, as the stripe SDK does. */
export function encodeForm(value: Record<string, unknown>): string {
  const pairs: string[] = [];
  const walk = (prefix: string, item: unknown): void => {
    if (item === undefined) return;
    if (item === null) {
      pairs.push(`${encodeURIComponent(prefix)}=`);
    } else if (Array.isArray(item)) {
      item.forEach((inner, index) => walk(`${prefix}[${index}]`, inner));
    } else if (typeof item === 'object') {
      for (const [key, inner] of Object.entries(item)) walk(`${prefix}[${key}]`, inner);
    } else {
      pairs.push(`${encodeURIComponent(prefix)}=${encodeURIComponent(String(item))}`);
    }
  };
  for (const [key, item] of Object.entries(value)) walk(key, item);
  return pairs.join('&');
}
