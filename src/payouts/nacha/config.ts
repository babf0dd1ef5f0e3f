import { normaliseRoutingNumber } from '../bank.ts';

/** The BURSAR_ACH_* settings (docs/payouts.md "NACHA ACH"): who the ACH files come from and go to. */
export interface AchSettings {
  /** 9-digit routing number of the bank (ODFI) or ACH operator the files are sent to: file header 4–13. */
  immediateDestination: string;
  immediateDestinationName: string;
  /** 10 characters the bank assigned the originator (often '1' + the tax id, or the routing number): 14–23. */
  immediateOrigin: string;
  immediateOriginName: string;
  /** The company identification in batch headers and controls (10 characters, as the bank assigned it). */
  companyId: string;
  /** Company name the receivers see (16 characters). */
  companyName: string;
  /** Company entry description the receivers see (10 characters). */
  entryDescription: string;
  /** The originating DFI identification: the first 8 digits of the ODFI's routing number; trace number prefix. */
  odfi: string;
}

/** Development defaults (a check-digit-valid routing number); set real ones in production. */
export const DEFAULT_ACH: AchSettings = {
  immediateDestination: '091000019',
  immediateDestinationName: 'Bursar Sandbox Bank',
  immediateOrigin: '1234567890',
  immediateOriginName: 'Bursar Marketplace',
  companyId: '1234567890',
  companyName: 'Bursar Market',
  entryDescription: 'PAYOUT',
  odfi: '09100001',
};

function bounded(env: NodeJS.ProcessEnv, name: string, fallback: string, max: number): string {
  const value = (env[name] ?? fallback).trim();
  if (value.length === 0 || value.length > max || !/^[\x20-\x7e]+$/.test(value)) {
    throw new Error(`${name} must be 1–${max} printable ASCII characters, got "${value}"`);
  }
  return value;
}

export function loadAchSettings(env: NodeJS.ProcessEnv): AchSettings {
  const destination = normaliseRoutingNumber(
    env.BURSAR_ACH_IMMEDIATE_DESTINATION ?? DEFAULT_ACH.immediateDestination,
    'BURSAR_ACH_IMMEDIATE_DESTINATION',
  );
  const odfi = (env.BURSAR_ACH_ODFI ?? destination.slice(0, 8)).trim();
  if (!/^[0-9]{8}$/.test(odfi)) throw new Error(`BURSAR_ACH_ODFI must be 8 digits, got "${odfi}"`);
  return {
    immediateDestination: destination,
    immediateDestinationName: bounded(
      env,
      'BURSAR_ACH_IMMEDIATE_DESTINATION_NAME',
      DEFAULT_ACH.immediateDestinationName,
      23,
    ),
    immediateOrigin: bounded(env, 'BURSAR_ACH_IMMEDIATE_ORIGIN', DEFAULT_ACH.immediateOrigin, 10),
    immediateOriginName: bounded(
      env,
      'BURSAR_ACH_IMMEDIATE_ORIGIN_NAME',
      DEFAULT_ACH.immediateOriginName,
      23,
    ),
    companyId: bounded(env, 'BURSAR_ACH_COMPANY_ID', DEFAULT_ACH.companyId, 10),
    companyName: bounded(env, 'BURSAR_ACH_COMPANY_NAME', DEFAULT_ACH.companyName, 16),
    entryDescription: bounded(env, 'BURSAR_ACH_ENTRY_DESCRIPTION', DEFAULT_ACH.entryDescription, 10),
    odfi,
  };
}
