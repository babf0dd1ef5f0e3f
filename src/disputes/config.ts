import type { FeeBearer } from './domain.ts';

/** The disputes module's settings (docs/disputes.md). */
export interface DisputesConfig {
  /** Who bears the PSP's dispute fee when the seller has no policy of their own (BURSAR_DISPUTE_FEE_BEARER). */
  feeBearer: FeeBearer;
  /** How long an open dispute waits between two looks at the PSP (BURSAR_DISPUTES_POLL_MS; a day by default). */
  pollEveryMs: number;
  /** How often the poller looks for disputes due (BURSAR_DISPUTES_TICK_MS). */
  tickMs: number;
}

export const DEFAULT_DISPUTES_CONFIG: DisputesConfig = {
  feeBearer: 'seller',
  pollEveryMs: 24 * 3600 * 1000,
  tickMs: 60_000,
};

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,12}$/.test(raw) || Number(raw) < 1) throw new Error(`${name} must be a positive whole number`);
  return Number(raw);
}

export function loadDisputesConfig(env: NodeJS.ProcessEnv = process.env): DisputesConfig {
  const bearer = env.BURSAR_DISPUTE_FEE_BEARER;
  if (bearer !== undefined && bearer !== '' && bearer !== 'seller' && bearer !== 'platform')
    throw new Error(`BURSAR_DISPUTE_FEE_BEARER must be "seller" or "platform", got "${bearer}"`);
  return {
    feeBearer: bearer === 'platform' ? 'platform' : 'seller',
    pollEveryMs: positiveInt(env, 'BURSAR_DISPUTES_POLL_MS', DEFAULT_DISPUTES_CONFIG.pollEveryMs),
    tickMs: positiveInt(env, 'BURSAR_DISPUTES_TICK_MS', DEFAULT_DISPUTES_CONFIG.tickMs),
  };
}
