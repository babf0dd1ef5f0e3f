import { DEFAULT_FX_TOLERANCE_BPS } from './domain/classify-fx.ts';

/** Reconciliation's settings, from the environment. */
export interface ReconConfig {
  /** How long after a success of ours the PSP's report must show it before it is "missing" (hours). */
  settlementWindowHours: number;
  /** Lines matched per transaction. */
  chunkSize: number;
  /** The daily run: on, and its pg-boss cron (UTC). */
  dailyEnabled: boolean;
  dailyCron: string;
  /** A directory the daily run reads new camt files from (`*.xml`), when set. */
  bankDirectory: string | undefined;
  /**
   * A converted charge's settled amount may differ from the booked one by this many basis points of it and be
   * booked as FX gain or loss; beyond, it is an `fx_difference` exception (BURSAR_FX_TOLERANCE_BPS).
   */
  fxToleranceBps: number;
}

function basisPoints(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 10_000)
    throw new Error(`${name} must be a whole number of basis points, 0–10000, got "${raw}"`);
  return Number(raw);
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0)
    throw new Error(`${name} must be a positive whole number, got "${raw}"`);
  return Number(raw);
}

export function loadReconConfig(env: NodeJS.ProcessEnv): ReconConfig {
  const cron = env.BURSAR_RECON_DAILY_CRON || '0 3 * * *';
  if (cron.trim().split(/\s+/).length !== 5) {
    throw new Error(`BURSAR_RECON_DAILY_CRON must be a five-field cron expression, got "${cron}"`);
  }
  return {
    settlementWindowHours: positiveInt(env, 'BURSAR_RECON_SETTLEMENT_WINDOW_HOURS', 72),
    chunkSize: positiveInt(env, 'BURSAR_RECON_CHUNK_SIZE', 2000),
    dailyEnabled: env.BURSAR_RECON_DAILY !== 'false',
    dailyCron: cron,
    bankDirectory: env.BURSAR_RECON_BANK_DIR || undefined,
    fxToleranceBps: basisPoints(env, 'BURSAR_FX_TOLERANCE_BPS', DEFAULT_FX_TOLERANCE_BPS),
  };
}
