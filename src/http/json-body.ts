import { AppError } from '../errors.ts';

/**
 * The checks a JSON body passes before a route sees it. Each refuses with 400 (or 415) and the error shape what
 * would otherwise reach PostgreSQL and come back as a 500: a NUL character or a lone UTF-16 surrogate in a string
 * (PostgreSQL's text cannot hold either), JSON nested deeper than any Bursar body (a stack to blow), bytes that are
 * not UTF-8, and a declared charset other than UTF-8 (which would be silently misread).
 */

/** No Bursar body nests deeper than a handful of levels; 32 leaves room and stops pathological input early. */
export const MAX_JSON_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The charset parameter of a Content-Type header, lower-cased, or undefined when none is declared. */
export function declaredCharset(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  for (const part of contentType.split(';').slice(1)) {
    const [name, ...rest] = part.split('=');
    if (name?.trim().toLowerCase() === 'charset') {
      return rest
        .join('=')
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase();
    }
  }
  return undefined;
}

/** Refuses a declared charset other than UTF-8 (415) and bytes that are not UTF-8 (400); returns the text. */
export function decodeUtf8Body(body: Buffer, contentType: string | undefined): string {
  const charset = declaredCharset(contentType);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError(
      'unsupported_media_type',
      'send the body as application/json in UTF-8 (charset=utf-8)',
    );
  }
  try {
    return utf8.decode(body);
  } catch {
    throw new AppError('invalid_json', 'the request body is not valid UTF-8');
  }
}

/** The deepest nesting of arrays and objects in JSON text, counted without parsing (strings are skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return deepest;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units, no `u` flag). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` cannot be stored as PostgreSQL text, or undefined when it can. */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(text)) return 'contains a lone UTF-16 surrogate';
  return undefined;
}

function fieldName(path: ReadonlyArray<string | number>, context: string): string {
  return path.length === 0 ? context : path.join('.');
}

/**
 * Walks every key and string of a parsed value (iteratively: the depth was bounded before) and refuses the first
 * one PostgreSQL could not store, naming where it is.
 */
export function assertStorableStrings(value: unknown, context: string): void {
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const current = item.value;
    if (typeof current === 'string') {
      const why = unstorableText(current);
      if (why !== undefined) {
        const field = fieldName(item.path, context);
        throw new AppError('validation_failed', `${field}: ${why}`, { field });
      }
    } else if (Array.isArray(current)) {
      current.forEach((element: unknown, index) =>
        stack.push({ value: element, path: [...item.path, index] }),
      );
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, element] of Object.entries(current)) {
        const why = unstorableText(key);
        if (why !== undefined) {
          const field = fieldName(item.path, context);
          throw new AppError('validation_failed', `${field}: a key ${why}`, { field });
        }
        stack.push({ value: element, path: [...item.path, key] });
      }
    }
  }
}

/** Parses a JSON body that passed the encoding checks: bounded depth, valid JSON, storable strings. */
export function parseJsonText(text: string): unknown {
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new AppError('validation_failed', `body: nested deeper than ${MAX_JSON_DEPTH} levels`, {
      field: 'body',
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new AppError('invalid_json', 'the request body is not valid JSON');
  }
  assertStorableStrings(value, 'body');
  return value;
}
