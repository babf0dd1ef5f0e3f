import { NO_FEE, type FeePolicy } from '../money/platform-fee.ts';

function big(env: NodeJS.ProcessEnv, name: string, fallback: bigint): bigint {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,18}$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return BigInt(raw);
}

/**
 * The platform's default commission on a pay-in (BURSAR_PLATFORM_FEE_BPS, BURSAR_PLATFORM_FEE_FIXED_MINOR;
 * docs/payins.md): what a seller without their own `platform_fee` pays.
 */
export function loadPlatformFee(env: NodeJS.ProcessEnv = process.env): FeePolicy {
  return {
    basisPoints: big(env, 'BURSAR_PLATFORM_FEE_BPS', NO_FEE.basisPoints),
    fixedMinor: big(env, 'BURSAR_PLATFORM_FEE_FIXED_MINOR', NO_FEE.fixedMinor),
  };
}
