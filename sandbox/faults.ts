import { RandomStreams } from './prng.ts';

/**
 * Fault injection, deterministic with a seed. API rules match requests by `METHOD /path` with `*` wildcards
 * (`POST /v1/payment_intents*`, `* /v1/checkout/*`, `*`); the first matching rule applies. Webhook faults apply to
 * every delivery. Rates are probabilities in [0, 1]; each decision draws from its own seeded stream, so the n-th
 * request to a rule meets the same fate on every run with the same seed.
 */
export interface FaultRule {
  match: string;
  /** Added before the request is handled. */
  latencyMs?: number;
  /** Probability of answering with one of `errorStatuses` (default [500]) without doing anything. */
  errorRate?: number;
  errorStatuses?: number[];
  /** Probability of never answering (the client times out); nothing is done. */
  timeoutRate?: number;
  /** Probability of doing the work, committing it, and then dropping the connection without an answer. */
  lostResponseRate?: number;
}

export interface WebhookFaults {
  /** Probability that a delivery is never sent. */
  dropRate?: number;
  /** Probability that a delivery is sent twice. */
  duplicateRate?: number;
  /** Every delivery waits this long before its first attempt. */
  delayMs?: number;
  /** Deliveries get a random extra delay in [0, reorderWindowMs], so they arrive out of order. */
  reorder?: boolean;
  reorderWindowMs?: number;
}

export interface Faults {
  rules: FaultRule[];
  webhooks: WebhookFaults;
}

export const NO_FAULTS: Faults = { rules: [], webhooks: {} };

export type FaultDecision =
  | { kind: 'none'; latencyMs: number }
  | { kind: 'error'; latencyMs: number; status: number }
  | { kind: 'timeout'; latencyMs: number }
  | { kind: 'lost_response'; latencyMs: number };

const ALLOWED_STATUSES = new Set([429, 500, 502, 503, 504]);

function rate(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    throw new Error(`${name} must be a number in [0, 1]`);
  return value;
}

function nonNegative(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer`);
  return value;
}

/** Validates untrusted JSON (from SANDBOX_FAULTS or the admin endpoint) into Faults; throws with a clear message. */
export function parseFaults(input: unknown): Faults {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new Error('faults must be a JSON object');
  const record = input as Record<string, unknown>;
  const rulesInput = record.rules ?? [];
  if (!Array.isArray(rulesInput)) throw new Error('faults.rules must be an array');
  const rules = rulesInput.map((raw, index): FaultRule => {
    if (typeof raw !== 'object' || raw === null) throw new Error(`faults.rules[${index}] must be an object`);
    const rule = raw as Record<string, unknown>;
    const match = rule.match ?? '*';
    if (typeof match !== 'string' || match.length === 0)
      throw new Error(`faults.rules[${index}].match must be a string`);
    const statuses = rule.errorStatuses;
    if (
      statuses !== undefined &&
      (!Array.isArray(statuses) ||
        statuses.length === 0 ||
        statuses.some((s) => !ALLOWED_STATUSES.has(s as number)))
    ) {
      throw new Error(
        `faults.rules[${index}].errorStatuses must be a non-empty list of 429, 500, 502, 503, 504`,
      );
    }
    const parsed: FaultRule = { match };
    const latencyMs = nonNegative(rule.latencyMs, `faults.rules[${index}].latencyMs`);
    if (latencyMs !== undefined) parsed.latencyMs = latencyMs;
    const errorRate = rate(rule.errorRate, `faults.rules[${index}].errorRate`);
    if (errorRate !== undefined) parsed.errorRate = errorRate;
    if (statuses !== undefined) parsed.errorStatuses = statuses as number[];
    const timeoutRate = rate(rule.timeoutRate, `faults.rules[${index}].timeoutRate`);
    if (timeoutRate !== undefined) parsed.timeoutRate = timeoutRate;
    const lostResponseRate = rate(rule.lostResponseRate, `faults.rules[${index}].lostResponseRate`);
    if (lostResponseRate !== undefined) parsed.lostResponseRate = lostResponseRate;
    return parsed;
  });
  const hooksInput = record.webhooks ?? {};
  if (typeof hooksInput !== 'object' || hooksInput === null || Array.isArray(hooksInput))
    throw new Error('faults.webhooks must be an object');
  const hooks = hooksInput as Record<string, unknown>;
  const webhooks: WebhookFaults = {};
  const dropRate = rate(hooks.dropRate, 'faults.webhooks.dropRate');
  if (dropRate !== undefined) webhooks.dropRate = dropRate;
  const duplicateRate = rate(hooks.duplicateRate, 'faults.webhooks.duplicateRate');
  if (duplicateRate !== undefined) webhooks.duplicateRate = duplicateRate;
  const delayMs = nonNegative(hooks.delayMs, 'faults.webhooks.delayMs');
  if (delayMs !== undefined) webhooks.delayMs = delayMs;
  if (hooks.reorder !== undefined) {
    if (typeof hooks.reorder !== 'boolean') throw new Error('faults.webhooks.reorder must be a boolean');
    webhooks.reorder = hooks.reorder;
  }
  const reorderWindowMs = nonNegative(hooks.reorderWindowMs, 'faults.webhooks.reorderWindowMs');
  if (reorderWindowMs !== undefined) webhooks.reorderWindowMs = reorderWindowMs;
  return { rules, webhooks };
}

/** `*` matches any run of characters; everything else literally. */
export function matchesPattern(pattern: string, subject: string): boolean {
  if (pattern === '*') return true;
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`).test(subject);
}

function ruleMatches(rule: FaultRule, method: string, path: string): boolean {
  // A pattern without a method (`/v1/refunds*`) applies to every method.
  const pattern = /^[A-Z*]+ /.test(rule.match) ? rule.match : `* ${rule.match}`;
  return matchesPattern(pattern, `${method} ${path}`);
}

export class FaultInjector {
  private faults: Faults;
  private random: RandomStreams;
  constructor(
    private readonly seed: number,
    initial: Faults = NO_FAULTS,
  ) {
    this.faults = initial;
    this.random = new RandomStreams(seed);
  }

  current(): Faults {
    return this.faults;
  }

  /** Replaces the fault configuration; the random streams restart so a test run is reproducible from this point. */
  set(faults: Faults): void {
    this.faults = faults;
    this.random = new RandomStreams(this.seed);
  }

  decide(method: string, path: string): FaultDecision {
    const index = this.faults.rules.findIndex((rule) => ruleMatches(rule, method, path));
    const rule = this.faults.rules[index];
    if (rule === undefined) return { kind: 'none', latencyMs: 0 };
    const latencyMs = rule.latencyMs ?? 0;
    const stream = `rule:${index}:${rule.match}`;
    // One draw per kind per request, always in the same order, so adding a rate does not shift the other streams.
    const errorDraw = this.random.next(`${stream}:error`);
    const statusDraw = this.random.next(`${stream}:status`);
    const timeoutDraw = this.random.next(`${stream}:timeout`);
    const lostDraw = this.random.next(`${stream}:lost`);
    if (errorDraw < (rule.errorRate ?? 0)) {
      const statuses = rule.errorStatuses ?? [500];
      const status = statuses[Math.floor(statusDraw * statuses.length)] ?? 500;
      return { kind: 'error', latencyMs, status };
    }
    if (timeoutDraw < (rule.timeoutRate ?? 0)) return { kind: 'timeout', latencyMs };
    if (lostDraw < (rule.lostResponseRate ?? 0)) return { kind: 'lost_response', latencyMs };
    return { kind: 'none', latencyMs };
  }

  /** What happens to one webhook delivery: how many copies are sent, and after what extra delay each. */
  decideWebhook(): { copies: number; delaysMs: number[] } {
    const hooks = this.faults.webhooks;
    const dropDraw = this.random.next('webhook:drop');
    const duplicateDraw = this.random.next('webhook:duplicate');
    const reorderDraws = [this.random.next('webhook:reorder'), this.random.next('webhook:reorder')];
    if (dropDraw < (hooks.dropRate ?? 0)) return { copies: 0, delaysMs: [] };
    const copies = duplicateDraw < (hooks.duplicateRate ?? 0) ? 2 : 1;
    const window = hooks.reorder ? (hooks.reorderWindowMs ?? 2000) : 0;
    const delaysMs = reorderDraws
      .slice(0, copies)
      .map((draw) => (hooks.delayMs ?? 0) + Math.floor(draw * window));
    return { copies, delaysMs };
  }
}
