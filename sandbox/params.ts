import { invalidRequest } from './errors.ts';
import type { FormObject, FormValue } from './form.ts';
import { amountFromWire } from './wire-amount.ts';

/**
 * Reading Stripe-style parameters: every name must be known to the endpoint (Stripe answers "Received unknown
 * parameter"), integers are decimal strings, booleans `true`/`false`, metadata a flat map of strings.
 */
export class Params {
  constructor(
    private readonly values: FormObject,
    allowed: readonly string[],
    /** Where these parameters sit, in bracket notation (`line_items[0]`), for error messages. */
    private readonly path = '',
  ) {
    for (const name of Object.keys(values)) {
      if (name === 'expand' && path === '') continue;
      if (!allowed.includes(name))
        throw invalidRequest(`Received unknown parameter: ${this.label(name)}`, this.label(name));
    }
  }

  label(name: string): string {
    return this.path === '' ? name : `${this.path}[${name}]`;
  }

  raw(name: string): FormValue | undefined {
    return this.values[name];
  }

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  string(name: string, options: { required: true; maxLength?: number }): string;
  string(name: string, options?: { required?: false; maxLength?: number }): string | undefined;
  string(name: string, options: { required?: boolean; maxLength?: number } = {}): string | undefined {
    const value = this.values[name];
    if (value === undefined || value === '') {
      if (options.required)
        throw invalidRequest(
          `Missing required param: ${this.label(name)}.`,
          this.label(name),
          'parameter_missing',
        );
      return undefined;
    }
    if (typeof value !== 'string')
      throw invalidRequest(`Invalid string: ${this.label(name)}`, this.label(name));
    if (value.length > (options.maxLength ?? 5000)) {
      throw invalidRequest(`Invalid string: ${this.label(name)} is too long`, this.label(name));
    }
    return value;
  }

  int(name: string, options: { required: true; min?: number; max?: number }): number;
  int(name: string, options?: { required?: false; min?: number; max?: number }): number | undefined;
  int(name: string, options: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const value = options.required ? this.string(name, { required: true }) : this.string(name);
    if (value === undefined) return undefined;
    if (!/^-?\d{1,15}$/.test(value)) throw invalidRequest(`Invalid integer: ${value}`, this.label(name));
    const parsed = Number.parseInt(value, 10);
    if (options.min !== undefined && parsed < options.min) {
      throw invalidRequest(`This value must be greater than or equal to ${options.min}.`, this.label(name));
    }
    if (options.max !== undefined && parsed > options.max) {
      throw invalidRequest(`This value must be less than or equal to ${options.max}.`, this.label(name));
    }
    return parsed;
  }

  /**
   * An amount in minor units: the same digits and bounds checks (and messages) as `int`, but read as a bigint so
   * that the amount never lives in a `number`.
   */
  amount(name: string, options: { required: true; min?: bigint; max?: bigint }): bigint;
  amount(name: string, options?: { required?: false; min?: bigint; max?: bigint }): bigint | undefined;
  amount(name: string, options: { required?: boolean; min?: bigint; max?: bigint } = {}): bigint | undefined {
    const value = options.required ? this.string(name, { required: true }) : this.string(name);
    if (value === undefined) return undefined;
    if (!/^-?\d{1,15}$/.test(value)) throw invalidRequest(`Invalid integer: ${value}`, this.label(name));
    const parsed = amountFromWire(value, this.label(name));
    if (options.min !== undefined && parsed < options.min) {
      throw invalidRequest(`This value must be greater than or equal to ${options.min}.`, this.label(name));
    }
    if (options.max !== undefined && parsed > options.max) {
      throw invalidRequest(`This value must be less than or equal to ${options.max}.`, this.label(name));
    }
    return parsed;
  }

  bool(name: string): boolean | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false')
      throw invalidRequest(`Invalid boolean: ${value}`, this.label(name));
    return value === 'true';
  }

  oneOf<T extends string>(name: string, choices: readonly T[], fallback?: T): T | undefined {
    const value = this.string(name);
    if (value === undefined) return fallback;
    if (!(choices as readonly string[]).includes(value)) {
      throw invalidRequest(
        `Invalid ${this.label(name)}: must be one of ${choices.join(', ')}`,
        this.label(name),
      );
    }
    return value as T;
  }

  object(name: string, allowed: readonly string[]): Params | undefined {
    const value = this.values[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'object' || Array.isArray(value))
      throw invalidRequest(`Invalid hash: ${this.label(name)}`, this.label(name));
    return new Params(value, allowed, this.label(name));
  }

  array(name: string): FormValue[] | undefined {
    const value = this.values[name];
    if (value === undefined || value === '') return undefined;
    if (!Array.isArray(value)) throw invalidRequest(`Invalid array: ${this.label(name)}`, this.label(name));
    return value;
  }

  stringArray(name: string): string[] | undefined {
    const items = this.array(name);
    if (items === undefined) return undefined;
    return items.map((item, index) => {
      if (typeof item !== 'string')
        throw invalidRequest(
          `Invalid string: ${this.label(name)}[${index}]`,
          `${this.label(name)}[${index}]`,
        );
      return item;
    });
  }

  /** Stripe's metadata rules: up to 50 keys, keys up to 40 characters, values up to 500. */
  metadata(name = 'metadata'): Record<string, string> {
    const value = this.values[name];
    if (value === undefined || value === '') return {};
    if (typeof value !== 'object' || Array.isArray(value))
      throw invalidRequest(`Invalid hash: ${this.label(name)}`, this.label(name));
    const entries = Object.entries(value);
    if (entries.length > 50) throw invalidRequest('Metadata can have at most 50 keys.', this.label(name));
    const out: Record<string, string> = {};
    for (const [key, inner] of entries) {
      if (typeof inner !== 'string')
        throw invalidRequest(`Invalid metadata value for ${key}`, `${this.label(name)}[${key}]`);
      if (key.length > 40)
        throw invalidRequest('Metadata keys can be at most 40 characters.', `${this.label(name)}[${key}]`);
      if (inner.length > 500)
        throw invalidRequest('Metadata values can be at most 500 characters.', `${this.label(name)}[${key}]`);
      // An empty value unsets the key in Stripe's API.
      if (inner !== '') out[key] = inner;
    }
    return out;
  }

  /** `created=N` or `created[gt|gte|lt|lte]=N`. */
  range(name: string): { gt?: number; gte?: number; lt?: number; lte?: number } | undefined {
    const value = this.values[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value === 'string') {
      const exact = this.int(name);
      return exact === undefined ? undefined : { gte: exact, lte: exact };
    }
    const inner = this.object(name, ['gt', 'gte', 'lt', 'lte']);
    if (inner === undefined) return undefined;
    const out: { gt?: number; gte?: number; lt?: number; lte?: number } = {};
    for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
      const parsed = inner.int(bound);
      if (parsed !== undefined) out[bound] = parsed;
    }
    return out;
  }

  /** limit (1..100, default 10), starting_after, ending_before. */
  page(): { limit: number; startingAfter?: string; endingBefore?: string } {
    const page: { limit: number; startingAfter?: string; endingBefore?: string } = {
      limit: this.int('limit', { min: 1, max: 100 }) ?? 10,
    };
    const after = this.string('starting_after');
    const before = this.string('ending_before');
    if (after !== undefined) page.startingAfter = after;
    if (before !== undefined) page.endingBefore = before;
    return page;
  }

  expand(): string[] {
    const value = this.values.expand;
    if (value === undefined) return [];
    if (typeof value === 'string') return [value];
    if (!Array.isArray(value)) throw invalidRequest('Invalid array: expand', 'expand');
    return value.filter((item): item is string => typeof item === 'string');
  }
}

export const PAGE_PARAMS = ['limit', 'starting_after', 'ending_before'] as const;
