import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from './config.ts';
import { LIMIT_VARIABLES, parseTrustedProxies } from './http/limits.ts';
import { isCurrencyCode, parseAmount } from './money/index.ts';
import { loadMarketplaceWebhookConfig, loadPayinsConfig } from './payins/index.ts';
import { loadEventsConfig } from './events/index.ts';
import { loadAchSettings, loadPayoutsConfig } from './payouts/index.ts';
import { loadStripeConfig } from './psp/index.ts';
import { loadReconConfig } from './reconciliation/index.ts';
import { loadRefundsConfig } from './refunds/index.ts';
import { loadRiskRules } from './risk/index.ts';
import { loadRefundPolicy } from './sellers/index.ts';

/**
 * Every setting of every process role, checked before anything starts (no port opened, no job taken, no file
 * written). Each variable is checked on its own, so every problem is reported at once; then each module's own
 * loader runs on the whole environment as a safety net for rules that span variables.
 */

/** `cli` is every other command: it needs the database settings only. */
export type CheckedRole = 'all' | 'api' | 'worker' | 'sandbox' | 'cli';

/** The exit code of a process refused for its configuration (sysexits.h EX_CONFIG). */
export const EXIT_CONFIG = 78;

export interface ConfigProblem {
  variable: string;
  /** What is wrong with the value; a secret's value is never quoted. */
  problem: string;
  /** The forms the variable accepts. */
  accepted: string;
}

export interface ConfigCheck {
  /** The process configuration, when there is no problem. */
  config: Config | undefined;
  problems: ConfigProblem[];
}

type Area = 'core' | 'api' | 'worker' | 'sandbox';

interface Setting {
  name: string;
  area: Area;
  accepted: string;
  secret?: boolean;
  /** A problem with the (non-empty) raw value, or undefined when it is fine. */
  check(raw: string, env: NodeJS.ProcessEnv): string | undefined;
}

const AREAS: Record<CheckedRole, readonly Area[]> = {
  all: ['core', 'api', 'worker', 'sandbox'],
  api: ['core', 'api', 'worker'],
  worker: ['core', 'api', 'worker'],
  sandbox: ['core', 'sandbox'],
  cli: ['core'],
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function wholeNumber(max: number, min = 0): (raw: string) => string | undefined {
  return (raw) => {
    if (!/^\d{1,15}$/.test(raw)) return 'is not a whole number';
    const value = Number.parseInt(raw, 10);
    if (value < min) return `is below ${min}`;
    if (value > max) return `is above ${max}`;
    return undefined;
  };
}

const port = wholeNumber(65535);

function oneOf(...values: string[]): (raw: string) => string | undefined {
  return (raw) => (values.includes(raw) ? undefined : 'is not one of the accepted values');
}

function httpUrl(raw: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? undefined : 'is not an http(s) URL';
}

function cron(raw: string): string | undefined {
  const fields = raw.trim().split(/\s+/);
  if (fields.length !== 5) return `has ${fields.length} fields, not 5`;
  if (!fields.every((field) => /^[0-9A-Za-z*/,\-?]+$/.test(field))) return 'has a field that is not cron';
  return undefined;
}

function amounts(): (raw: string) => string | undefined {
  return (raw) => {
    for (const part of raw.split(',')) {
      const [currency, amount, extra] = part.trim().split(':');
      if (currency === undefined || amount === undefined || extra !== undefined)
        return `"${part.trim()}" is not CURRENCY:AMOUNT`;
      try {
        parseAmount(amount, currency);
      } catch (error) {
        return `has "${part.trim()}": ${(error as Error).message}`;
      }
    }
    return undefined;
  };
}

const any = (): undefined => undefined;
const nonEmpty = (raw: string): string | undefined => (raw.trim() === '' ? 'is blank' : undefined);
const bool = oneOf('true', 'false');

/** Every variable Bursar reads, with the forms it accepts. README.md's configuration table documents them. */
/** The NACHA ACH settings (docs/payouts.md "NACHA ACH"), checked by the ACH loader. */
const ACH_SETTINGS: ReadonlyArray<[string, string]> = [
  ['BURSAR_ACH_IMMEDIATE_DESTINATION', 'a 9-digit ABA routing number with a valid check digit'],
  ['BURSAR_ACH_IMMEDIATE_DESTINATION_NAME', '1–23 printable ASCII characters'],
  ['BURSAR_ACH_IMMEDIATE_ORIGIN', '1–10 printable ASCII characters (as the bank assigned)'],
  ['BURSAR_ACH_IMMEDIATE_ORIGIN_NAME', '1–23 printable ASCII characters'],
  ['BURSAR_ACH_COMPANY_ID', '1–10 printable ASCII characters (as the bank assigned)'],
  ['BURSAR_ACH_COMPANY_NAME', '1–16 printable ASCII characters'],
  ['BURSAR_ACH_ENTRY_DESCRIPTION', '1–10 printable ASCII characters'],
  ['BURSAR_ACH_ODFI', '8 digits (the ODFI routing number without its check digit)'],
];

export const SETTINGS: readonly Setting[] = [
  // The process and its database.
  { name: 'PORT', area: 'core', accepted: 'a port number, 0–65535', check: port },
  { name: 'HOST', area: 'core', accepted: 'a host name or IP address to listen on', check: nonEmpty },
  { name: 'SANDBOX_PORT', area: 'core', accepted: 'a port number, 0–65535', check: port },
  {
    name: 'DATABASE_URL',
    area: 'core',
    secret: true,
    accepted: 'a postgres:// or postgresql:// URL',
    check: (raw) => {
      try {
        const url = new URL(raw);
        return url.protocol === 'postgres:' || url.protocol === 'postgresql:'
          ? undefined
          : 'is not a postgres:// URL';
      } catch {
        return 'is not a URL';
      }
    },
  },
  { name: 'BURSAR_DATA_DIR', area: 'core', accepted: 'a directory path', check: nonEmpty },
  {
    name: 'BURSAR_DEBT_WRITE_OFF_DAYS',
    area: 'core',
    accepted: 'a whole number of days, 0–36500',
    check: wholeNumber(36500),
  },
  {
    name: 'BURSAR_PG_OS_USER',
    area: 'core',
    accepted: 'an account name (letters, digits, _ and -)',
    check: (raw) => (/^[a-z_][a-z0-9_-]{0,31}$/i.test(raw) ? undefined : 'is not an account name'),
  },
  {
    name: 'LOG_LEVEL',
    area: 'core',
    accepted: LOG_LEVELS.join(', '),
    check: oneOf(...LOG_LEVELS),
  },
  {
    name: 'BURSAR_SHUTDOWN_GRACE_MS',
    area: 'core',
    accepted: 'milliseconds, 0–600000',
    check: wholeNumber(600_000),
  },
  {
    name: 'BURSAR_DB_OUTAGE_LIMIT_MS',
    area: 'core',
    accepted: 'milliseconds, 0–86400000',
    check: wholeNumber(86_400_000),
  },
  {
    name: 'BURSAR_DB_SERVICE_ROLE',
    area: 'core',
    accepted: 'a lower-case SQL identifier: the role `bursar migrate` grants to (docs/security.md)',
    check: (raw) => (/^[a-z_][a-z0-9_]*$/.test(raw) ? undefined : 'is not a lower-case SQL identifier'),
  },
  {
    name: 'BURSAR_API_KEY',
    area: 'api',
    secret: true,
    accepted: 'at least 16 characters, no spaces',
    check: (raw) => (raw.length >= 16 && !/\s/.test(raw) ? undefined : 'is too short or has spaces'),
  },
  // The API's limits and TLS (docs/security.md, src/http/limits.ts).
  ...(['BURSAR_RATE_LIMIT_MONEY', 'BURSAR_RATE_LIMIT_READS', 'BURSAR_RATE_LIMIT_WEBHOOKS'] as const).map(
    (name): Setting => ({
      name,
      area: 'api',
      accepted: 'requests per minute per API key and per client address (per process), 0 for no limit',
      check: wholeNumber(LIMIT_VARIABLES[name].max),
    }),
  ),
  ...(['BURSAR_MONEY_BODY_LIMIT_BYTES', 'BURSAR_BODY_LIMIT_BYTES'] as const).map((name): Setting => ({
    name,
    area: 'api',
    accepted: `bytes, 1–${LIMIT_VARIABLES[name].max}`,
    check: wholeNumber(LIMIT_VARIABLES[name].max, 1),
  })),
  ...(
    [
      'BURSAR_HEADERS_TIMEOUT_MS',
      'BURSAR_REQUEST_TIMEOUT_MS',
      'BURSAR_KEEP_ALIVE_TIMEOUT_MS',
      'BURSAR_IDLE_TIMEOUT_MS',
    ] as const
  ).map((name): Setting => ({
    name,
    area: 'api',
    accepted: `milliseconds, 0–${LIMIT_VARIABLES[name].max} (0 for none)`,
    check: wholeNumber(LIMIT_VARIABLES[name].max),
  })),
  {
    name: 'BURSAR_TRUSTED_PROXIES',
    area: 'api',
    accepted: 'IP addresses or CIDR ranges of TLS proxies, separated by commas',
    check: (raw) => {
      try {
        parseTrustedProxies(raw);
        return undefined;
      } catch {
        return 'has an entry that is not an IP address or CIDR range';
      }
    },
  },
  ...(['BURSAR_TLS_CERT_FILE', 'BURSAR_TLS_KEY_FILE'] as const).map((name): Setting => ({
    name,
    area: 'api',
    accepted: 'a readable PEM file (set both BURSAR_TLS_CERT_FILE and BURSAR_TLS_KEY_FILE)',
    check: (raw, env) => {
      const other = name === 'BURSAR_TLS_CERT_FILE' ? 'BURSAR_TLS_KEY_FILE' : 'BURSAR_TLS_CERT_FILE';
      if (!env[other]) return `is set without ${other}`;
      try {
        fs.accessSync(path.resolve(raw), fs.constants.R_OK);
        return undefined;
      } catch {
        return 'is not a readable file';
      }
    },
  })),
  // Pay-ins (docs/payins.md).
  ...[
    'BURSAR_IDEMPOTENCY_TTL_HOURS',
    'BURSAR_IDEMPOTENCY_LEASE_MS',
    'BURSAR_PAYINS_MAX_ATTEMPTS',
    'BURSAR_PAYINS_RETRY_BASE_MS',
    'BURSAR_PAYINS_RETRY_MAX_MS',
    'BURSAR_PAYINS_SWEEP_AFTER_MS',
    'BURSAR_PAYINS_SWEEP_BASE_MS',
    'BURSAR_PAYINS_SWEEP_MAX_MS',
    'BURSAR_PAYINS_MAX_SWEEPS',
    'BURSAR_PAYINS_EVENT_DEFER_MS',
    'BURSAR_PAYINS_POLL_AFTER_MS',
    'BURSAR_PAYINS_POLL_BASE_MS',
    'BURSAR_PAYINS_POLL_MAX_MS',
    'BURSAR_PAYINS_MAX_POLLS',
    'BURSAR_PAYINS_TICK_MS',
    'BURSAR_PAYINS_CLAIM_POLL_MS',
    'BURSAR_PAYINS_FEE_RETRY_BASE_MS',
    'BURSAR_PAYINS_FEE_RETRY_MAX_MS',
  ].map((name): Setting => ({ name, area: 'api', accepted: 'a whole number', check: wholeNumber(1e12) })),
  {
    name: 'BURSAR_PAYINS_GATHER_MS',
    area: 'worker',
    accepted: 'a whole number of milliseconds, 0–1000',
    check: wholeNumber(1000),
  },
  // Foreign exchange (docs/currencies.md).
  {
    name: 'BURSAR_FX_RATES_FILE',
    area: 'api',
    accepted: 'a path to an ECB eurofxref XML file',
    check: nonEmpty,
  },
  {
    name: 'BURSAR_FX_RATES_URL',
    area: 'api',
    accepted: 'an http(s) URL of an ECB eurofxref XML file',
    check: (raw) => (/^https?:\/\/\S+$/.test(raw) ? undefined : 'is not an http(s) URL'),
  },
  ...['BURSAR_FX_REFRESH_MINUTES', 'BURSAR_FX_MAX_AGE_HOURS'].map((name): Setting => ({
    name,
    area: 'api',
    accepted: 'a whole number, 1–100000',
    check: wholeNumber(100_000, 1),
  })),
  { name: 'BURSAR_FX_MARKUP_BPS', area: 'api', accepted: 'a whole number, 0–9999', check: wholeNumber(9999) },
  {
    name: 'BURSAR_FX_TOLERANCE_BPS',
    area: 'api',
    accepted: 'a whole number of basis points, 0–10000',
    check: wholeNumber(10_000),
  },
  {
    name: 'BURSAR_SETTLEMENT_CURRENCY',
    area: 'api',
    accepted: 'an ISO 4217 code in upper case',
    check: (raw) => (isCurrencyCode(raw) ? undefined : 'is not an ISO 4217 code'),
  },
  // Refunds (docs/refunds.md).
  ...[
    'BURSAR_REFUNDS_MAX_ATTEMPTS',
    'BURSAR_REFUNDS_RETRY_BASE_MS',
    'BURSAR_REFUNDS_RETRY_MAX_MS',
    'BURSAR_REFUNDS_LEASE_MS',
    'BURSAR_REFUNDS_POLL_AFTER_MS',
    'BURSAR_REFUNDS_TICK_MS',
  ].map((name): Setting => ({ name, area: 'worker', accepted: 'a whole number', check: wholeNumber(1e12) })),
  {
    name: 'BURSAR_REFUNDS_DISCOVER_MS',
    area: 'worker',
    accepted: 'a whole number of milliseconds (0 turns refund discovery off)',
    check: wholeNumber(1e12),
  },
  {
    name: 'BURSAR_REFUND_PLATFORM_FEE',
    area: 'api',
    accepted: 'keep or proportional',
    check: (raw) => (raw === 'keep' || raw === 'proportional' ? undefined : 'is not keep or proportional'),
  },
  {
    name: 'BURSAR_REFUND_PSP_FEE',
    area: 'api',
    accepted: 'platform or seller',
    check: (raw) => (raw === 'platform' || raw === 'seller' ? undefined : 'is not platform or seller'),
  },
  {
    name: 'BURSAR_PAYINS_FEE_MAX_ATTEMPTS',
    area: 'worker',
    accepted: 'a whole number, 1–1000',
    check: wholeNumber(1000, 1),
  },
  {
    name: 'BURSAR_PAYINS_WORKER_CONCURRENCY',
    area: 'worker',
    accepted: 'a whole number, 1–100',
    check: wholeNumber(100, 1),
  },
  ...['BURSAR_PLATFORM_FEE_BPS', 'BURSAR_PLATFORM_FEE_FIXED_MINOR'].map((name): Setting => ({
    name,
    area: 'api',
    accepted: 'a whole number',
    check: wholeNumber(1e15),
  })),
  // Risk rules.
  ...['BURSAR_RISK_MAX_CHECKOUT', 'BURSAR_RISK_REVIEW_ABOVE', 'BURSAR_RISK_MAX_AMOUNT_PER_HOUR'].map(
    (name): Setting => ({
      name,
      area: 'api',
      accepted: 'CURRENCY:AMOUNT pairs separated by commas, e.g. "USD:100.00,EUR:50"',
      check: amounts(),
    }),
  ),
  {
    name: 'BURSAR_RISK_MAX_CHECKOUTS_PER_HOUR',
    area: 'api',
    accepted: 'a whole number',
    check: wholeNumber(999_999_999),
  },
  { name: 'BURSAR_RISK_BLOCKED_BUYERS', area: 'api', accepted: 'buyer ids separated by commas', check: any },
  {
    name: 'BURSAR_RISK_BLOCKED_COUNTRIES',
    area: 'api',
    accepted: 'two-letter country codes separated by commas',
    check: (raw) =>
      raw
        .split(',')
        .map((code) => code.trim())
        .filter((code) => code !== '')
        .every((code) => /^[A-Za-z]{2}$/.test(code))
        ? undefined
        : 'has an entry that is not a two-letter code',
  },
  // Outgoing webhooks to the marketplace.
  { name: 'BURSAR_WEBHOOK_URL', area: 'worker', accepted: 'an http:// or https:// URL', check: httpUrl },
  {
    name: 'BURSAR_WEBHOOK_SECRET',
    area: 'worker',
    secret: true,
    accepted: 'a non-blank secret (whsec_… by convention)',
    check: nonEmpty,
  },
  {
    name: 'BURSAR_WEBHOOK_TIMEOUT_MS',
    area: 'worker',
    accepted: 'milliseconds, 1–999999',
    check: wholeNumber(999_999, 1),
  },
  {
    name: 'BURSAR_WEBHOOK_MAX_ATTEMPTS',
    area: 'worker',
    accepted: 'a whole number of delivery attempts, 1–10000',
    check: wholeNumber(10_000, 1),
  },
  // Webhook endpoints (src/events/config.ts, src/events/secret-box.ts).
  {
    name: 'BURSAR_WEBHOOK_ALLOW_PRIVATE_URLS',
    area: 'api',
    accepted: 'true or false (true lets endpoints be on loopback or private networks)',
    check: bool,
  },
  {
    name: 'BURSAR_WEBHOOK_ENDPOINTS_KEY',
    area: 'api',
    secret: true,
    accepted: 'a 32-byte key: 64 hex digits or base64',
    check: (raw) => {
      const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
      return key.length === 32 ? undefined : 'is not 32 bytes';
    },
  },
  // The dashboard's sign-in (src/operators/config.ts).
  {
    name: 'BURSAR_DASHBOARD_SESSION_HOURS',
    area: 'api',
    accepted: 'a whole number of hours, 1–720',
    check: wholeNumber(720, 1),
  },
  {
    name: 'BURSAR_SIGNIN_MAX_FAILURES',
    area: 'api',
    accepted: 'a whole number of failed sign-ins, 1–1000',
    check: wholeNumber(1000, 1),
  },
  {
    name: 'BURSAR_SIGNIN_WINDOW_MINUTES',
    area: 'api',
    accepted: 'a whole number of minutes, 1–1440',
    check: wholeNumber(1440, 1),
  },
  // The PSP (Stripe or the sandbox).
  {
    name: 'STRIPE_SECRET_KEY',
    area: 'api',
    secret: true,
    accepted: 'a Stripe secret key: sk_test_… or sk_live_… (or rk_…)',
    check: (raw) => (/^(sk|rk)_(test|live)_\S+$/.test(raw) ? undefined : 'is not a Stripe secret key'),
  },
  {
    name: 'STRIPE_WEBHOOK_SECRET',
    area: 'core',
    secret: true,
    accepted: 'a webhook signing secret, whsec_…',
    check: (raw) => (raw.startsWith('whsec_') ? undefined : 'does not start with whsec_'),
  },
  {
    name: 'STRIPE_API_HOST',
    area: 'api',
    accepted: 'a host name (api.stripe.com for Stripe)',
    check: (raw) => (/^[A-Za-z0-9.\-:[\]]+$/.test(raw) ? undefined : 'is not a host name'),
  },
  { name: 'STRIPE_API_PORT', area: 'api', accepted: 'a port number, 0–65535', check: port },
  { name: 'STRIPE_API_PROTOCOL', area: 'api', accepted: 'http or https', check: oneOf('http', 'https') },
  {
    name: 'STRIPE_TIMEOUT_MS',
    area: 'api',
    accepted: 'milliseconds, 1–600000',
    check: wholeNumber(600_000, 1),
  },
  {
    name: 'STRIPE_MAX_NETWORK_RETRIES',
    area: 'api',
    accepted: 'a whole number, 0–10',
    check: wholeNumber(10),
  },
  // Pay-outs (docs/payouts.md).
  {
    name: 'BURSAR_PAYOUT_PROVIDER',
    area: 'api',
    accepted: 'iso20022, sandbox or nacha',
    check: oneOf('iso20022', 'sandbox', 'nacha'),
  },
  {
    name: 'BURSAR_PAYOUT_PROVIDERS',
    area: 'api',
    accepted: 'a comma-separated list of iso20022 (or pain001), sandbox, nacha; not iso20022 with sandbox',
    check: (raw, env) => payoutsProblem({ BURSAR_PAYOUT_PROVIDERS: raw }, env),
  },
  ...ACH_SETTINGS.map(([name, accepted]): Setting => ({
    name,
    area: 'api',
    accepted,
    check: (raw, env) => achProblem({ [name]: raw }, env),
  })),
  {
    name: 'BURSAR_PAYOUT_PAIN_VERSION',
    area: 'api',
    accepted: 'pain.001.001.09 or pain.001.001.03',
    check: oneOf('pain.001.001.09', 'pain.001.001.03'),
  },
  { name: 'BURSAR_PAYOUT_DEBTOR_NAME', area: 'api', accepted: 'a non-blank name', check: nonEmpty },
  {
    name: 'BURSAR_PAYOUT_DEBTOR_IBAN',
    area: 'api',
    accepted: 'an IBAN (two letters, two check digits, 11–30 letters or digits; spaces allowed)',
    check: (raw, env) => payoutsProblem({ BURSAR_PAYOUT_DEBTOR_IBAN: raw }, env),
  },
  {
    name: 'BURSAR_PAYOUT_DEBTOR_BIC',
    area: 'api',
    accepted: 'a BIC of 8 or 11 characters',
    check: (raw, env) => payoutsProblem({ BURSAR_PAYOUT_DEBTOR_BIC: raw }, env),
  },
  {
    name: 'BURSAR_PAYOUT_DEBTOR_ACCOUNTS',
    area: 'api',
    accepted:
      'CUR:IBAN:BIC entries, comma-separated, each currency once (e.g. GBP:GB29NWBK60161331926819:NWBKGB2L)',
    check: (raw, env) => payoutsProblem({ BURSAR_PAYOUT_DEBTOR_ACCOUNTS: raw }, env),
  },
  {
    name: 'BURSAR_PAYOUT_RUN_CRON',
    area: 'worker',
    accepted: 'a five-field cron expression (UTC), e.g. "0 6 * * *"',
    check: cron,
  },
  {
    name: 'BURSAR_PAYOUT_AVAILABILITY_CRON',
    area: 'worker',
    accepted: 'a five-field cron expression (UTC), e.g. "0 * * * *"',
    check: cron,
  },
  { name: 'BURSAR_PAYOUT_SANDBOX_URL', area: 'api', accepted: 'an http:// or https:// URL', check: httpUrl },
  { name: 'BURSAR_PAYOUT_WEBHOOK_URL', area: 'api', accepted: 'an http:// or https:// URL', check: httpUrl },
  {
    name: 'BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET',
    area: 'core',
    secret: true,
    accepted: 'a non-blank secret',
    check: nonEmpty,
  },
  // Disputes (docs/disputes.md).
  {
    name: 'BURSAR_DISPUTE_FEE_BEARER',
    area: 'api',
    accepted: 'seller or platform',
    check: oneOf('seller', 'platform'),
  },
  ...['BURSAR_DISPUTES_POLL_MS', 'BURSAR_DISPUTES_TICK_MS'].map((name): Setting => ({
    name,
    area: 'worker',
    accepted: 'a positive whole number',
    check: wholeNumber(1e12, 1),
  })),
  // Reconciliation (docs/reconciliation.md).
  { name: 'BURSAR_RECON_DAILY', area: 'worker', accepted: 'true or false', check: bool },
  {
    name: 'BURSAR_RECON_DAILY_CRON',
    area: 'worker',
    accepted: 'a five-field cron expression (UTC), e.g. "0 3 * * *"',
    check: cron,
  },
  { name: 'BURSAR_RECON_BANK_DIR', area: 'worker', accepted: 'a directory path', check: nonEmpty },
  {
    name: 'BURSAR_RECON_SETTLEMENT_WINDOW_HOURS',
    area: 'api',
    accepted: 'a positive whole number of hours',
    check: wholeNumber(1e9, 1),
  },
  {
    name: 'BURSAR_RECON_CHUNK_SIZE',
    area: 'api',
    accepted: 'a positive whole number',
    check: wholeNumber(1e9, 1),
  },
  // The sandbox PSP and payout provider (docs/sandbox.md).
  {
    name: 'SANDBOX_HOST',
    area: 'sandbox',
    accepted: 'a host name or IP address to listen on',
    check: nonEmpty,
  },
  { name: 'SANDBOX_PUBLIC_URL', area: 'sandbox', accepted: 'an http:// or https:// URL', check: httpUrl },
  {
    name: 'SANDBOX_SECRET_KEY',
    area: 'sandbox',
    secret: true,
    accepted: 'a test secret key, sk_test_…',
    check: (raw) => (raw.startsWith('sk_test_') ? undefined : 'does not start with sk_test_'),
  },
  {
    name: 'SANDBOX_ADMIN_KEY',
    area: 'sandbox',
    secret: true,
    accepted: 'the admin endpoints key, sbx_admin_ and 16 or more letters and digits (docs/security.md)',
    check: (raw) =>
      /^sbx_admin_[A-Za-z0-9_-]{16,200}$/.test(raw) ? undefined : 'does not look like sbx_admin_…',
  },
  {
    name: 'SANDBOX_FAULTS',
    area: 'sandbox',
    accepted: 'a JSON object of fault rules (docs/sandbox.md)',
    check: (raw) => {
      try {
        const parsed = JSON.parse(raw) as unknown;
        return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
          ? undefined
          : 'is not a JSON object';
      } catch {
        return 'is not JSON';
      }
    },
  },
  {
    name: 'SANDBOX_SEED',
    area: 'sandbox',
    accepted: 'a whole number, 0–4294967295',
    check: wholeNumber(0xffffffff),
  },
  {
    name: 'SANDBOX_SETTLEMENT_CURRENCY',
    area: 'sandbox',
    accepted: 'an ISO 4217 code in upper case (default: BURSAR_SETTLEMENT_CURRENCY when set)',
    check: (raw) => (isCurrencyCode(raw) ? undefined : 'is not an ISO 4217 code'),
  },
  {
    name: 'SANDBOX_FX_SPREAD_BPS',
    area: 'sandbox',
    accepted: 'a whole number, 0–9999',
    check: wholeNumber(9999),
  },
  ...[
    'SANDBOX_REVIEW_DELAY_MS',
    'SANDBOX_REFUND_DELAY_MS',
    'SANDBOX_AVAILABLE_DELAY_MS',
    'SANDBOX_TICK_MS',
  ].map((name): Setting => ({
    name,
    area: 'sandbox',
    accepted: 'milliseconds, a whole number',
    check: wholeNumber(1e15),
  })),
  { name: 'SANDBOX_AUTOMATIC_PAYOUTS', area: 'sandbox', accepted: 'true or false', check: bool },
  {
    name: 'SANDBOX_PAYOUT_DELAY_MS',
    area: 'sandbox',
    accepted: 'milliseconds, 0–999999999',
    check: wholeNumber(999_999_999),
  },
];

const SECRET_NAMES = new Set(SETTINGS.filter((setting) => setting.secret).map((setting) => setting.name));

function achProblem(overrides: NodeJS.ProcessEnv, env: NodeJS.ProcessEnv): string | undefined {
  try {
    loadAchSettings(overrides);
    return undefined;
  } catch (error) {
    return `is not valid: ${redact((error as Error).message, env).replace(/^[A-Z_]+:? /, '')}`;
  }
}

function payoutsProblem(overrides: NodeJS.ProcessEnv, env: NodeJS.ProcessEnv): string | undefined {
  try {
    loadPayoutsConfig({ ...overrides, BURSAR_PAYOUT_PROVIDER: undefined }, 8081, 8080, '.');
    return undefined;
  } catch (error) {
    return `is not valid: ${redact((error as Error).message, env).replace(/^[A-Z_]+: /, '')}`;
  }
}

/** Replaces every secret's value in a message (a loader's error may quote it). */
function redact(message: string, env: NodeJS.ProcessEnv): string {
  let text = message;
  for (const name of SECRET_NAMES) {
    const value = env[name];
    if (value !== undefined && value.length >= 4) text = text.split(value).join('(hidden)');
  }
  return text;
}

function describeValue(setting: Setting, raw: string): string {
  if (setting.secret) return 'the value (hidden)';
  const shown = raw.length > 60 ? `${raw.slice(0, 57)}…` : raw;
  return JSON.stringify(shown);
}

interface Found {
  problems: ConfigProblem[];
  reported: Set<string>;
}

/** Each set variable of the role's areas, by its own rule. */
function checkSettings(env: NodeJS.ProcessEnv, areas: readonly Area[], found: Found): void {
  for (const setting of SETTINGS) {
    if (!areas.includes(setting.area)) continue;
    const raw = env[setting.name];
    if (raw === undefined || raw === '') continue;
    const problem = setting.check(raw, env);
    if (problem === undefined) continue;
    found.problems.push({
      variable: setting.name,
      problem: `${describeValue(setting, raw)} ${problem}`,
      accepted: setting.accepted,
    });
    found.reported.add(setting.name);
  }
}

/** Rules across variables: the API and the sandbox cannot share a port. */
function checkAcross(env: NodeJS.ProcessEnv, role: CheckedRole, areas: readonly Area[], found: Found): void {
  const { problems, reported } = found;
  if ((role === 'all' || role === 'api') && areas.includes('sandbox')) {
    const apiPort = env.PORT || '8080';
    const sandboxPort = env.SANDBOX_PORT || '8081';
    if (
      apiPort === sandboxPort &&
      apiPort !== '0' &&
      !reported.has('PORT') &&
      !reported.has('SANDBOX_PORT')
    ) {
      problems.push({
        variable: 'SANDBOX_PORT',
        problem: `${JSON.stringify(sandboxPort)} is the API's PORT too`,
        accepted: 'a port number other than PORT',
      });
      reported.add('SANDBOX_PORT');
    }
  }
}

/**
 * Each module's own loader. `reads`: the prefixes of the variables a loader reads; when one of them is reported
 * already, the loader's own (first) complaint adds nothing. The core loader hands its configuration to `onConfig`.
 */
function moduleLoaders(
  env: NodeJS.ProcessEnv,
  onConfig: (config: Config) => void,
): { area: Area; reads: string[]; run: () => unknown }[] {
  // Secrets that would be generated and kept in the data dir get a throwaway placeholder, so that checking writes
  // nothing; it is random, used for nothing but the loaders' shape checks, and forgotten with the check.
  const placeholder = `whsec_${randomBytes(24).toString('base64url')}`;
  const quiet: NodeJS.ProcessEnv = {
    ...env,
    STRIPE_WEBHOOK_SECRET: env.STRIPE_WEBHOOK_SECRET || placeholder,
    BURSAR_WEBHOOK_SECRET: env.BURSAR_WEBHOOK_SECRET || placeholder,
    // The sandbox key likewise; against a real PSP a missing key stays missing, for the loader to refuse.
    STRIPE_SECRET_KEY:
      env.STRIPE_SECRET_KEY ||
      (env.STRIPE_API_HOST ? undefined : `sk_test_${randomBytes(24).toString('hex')}`),
  };
  return [
    {
      area: 'core',
      reads: [
        'PORT',
        'HOST',
        'SANDBOX_PORT',
        'DATABASE_URL',
        'BURSAR_DATA_DIR',
        'BURSAR_API_KEY',
        'LOG_LEVEL',
        'BURSAR_SHUTDOWN_GRACE_MS',
        'BURSAR_DB_OUTAGE_LIMIT_MS',
      ],
      run: () => onConfig(loadConfig(env)),
    },
    {
      area: 'api',
      reads: ['BURSAR_IDEMPOTENCY_', 'BURSAR_PAYINS_', 'BURSAR_PLATFORM_FEE_'],
      run: () => loadPayinsConfig(env),
    },
    { area: 'api', reads: ['BURSAR_RISK_'], run: () => loadRiskRules(env) },
    {
      area: 'api',
      reads: ['BURSAR_PAYOUT_', 'BURSAR_ACH_'],
      run: () => loadPayoutsConfig(env, 8081, 8080, path.resolve(env.BURSAR_DATA_DIR || '.bursar')),
    },
    { area: 'api', reads: ['BURSAR_RECON_'], run: () => loadReconConfig(env) },
    { area: 'worker', reads: ['BURSAR_REFUNDS_'], run: () => loadRefundsConfig(env) },
    {
      area: 'api',
      reads: ['BURSAR_REFUND_PLATFORM_FEE', 'BURSAR_REFUND_PSP_FEE'],
      run: () => loadRefundPolicy(env),
    },
    {
      area: 'api',
      reads: ['STRIPE_', 'SANDBOX_PORT'],
      run: () =>
        loadStripeConfig(quiet, path.resolve(env.BURSAR_DATA_DIR || '.bursar'), `http://127.0.0.1:8081`),
    },
    {
      area: 'worker',
      reads: ['BURSAR_WEBHOOK_'],
      run: () => loadMarketplaceWebhookConfig(quiet, path.resolve(env.BURSAR_DATA_DIR || '.bursar')),
    },
    { area: 'worker', reads: ['BURSAR_WEBHOOK_'], run: () => loadEventsConfig(env) },
  ];
}

/** Each module's own loader on the whole environment, as a safety net; a loader's complaint becomes a problem. */
function runLoaders(
  env: NodeJS.ProcessEnv,
  areas: readonly Area[],
  loaders: ReturnType<typeof moduleLoaders>,
  found: Found,
): void {
  const { problems, reported } = found;
  for (const loader of loaders) {
    if (!areas.includes(loader.area)) continue;
    if ([...reported].some((name) => loader.reads.some((prefix) => name.startsWith(prefix)))) continue;
    try {
      loader.run();
    } catch (error) {
      const message = redact((error as Error).message, env);
      const named = /^([A-Z][A-Z0-9_]+)\b/.exec(message)?.[1];
      const setting = SETTINGS.find((candidate) => candidate.name === named);
      const variable = setting?.name ?? loader.reads.join(', ');
      if (reported.has(variable)) continue;
      problems.push({
        variable,
        problem: message.replace(/^[A-Z][A-Z0-9_]+:? /, ''),
        accepted: setting?.accepted ?? 'see README.md, Configuration',
      });
      reported.add(variable);
    }
  }
}

/**
 * Checks the configuration of a process of `role` without starting, opening or writing anything. Returns the
 * process configuration when there is no problem, and every problem found.
 */
export function checkConfig(env: NodeJS.ProcessEnv, role: CheckedRole): ConfigCheck {
  const areas = AREAS[role];
  const found: Found = { problems: [], reported: new Set<string>() };
  checkSettings(env, areas, found);
  checkAcross(env, role, areas, found);
  let config: Config | undefined;
  runLoaders(
    env,
    areas,
    moduleLoaders(env, (loaded) => (config = loaded)),
    found,
  );
  return { config: found.problems.length === 0 ? config : undefined, problems: found.problems };
}

/** The report printed on stderr by a process refused for its configuration. */
export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
  const lines = [
    `bursar: the configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was started:`,
    ...problems.map((p) => `  ${p.variable}: ${p.problem} (accepted: ${p.accepted})`),
    `Every setting is described in README.md, "Configuration". Exit code ${EXIT_CONFIG} (configuration).`,
  ];
  return lines.join('\n');
}
