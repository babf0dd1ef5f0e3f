import type { PayoutProvider, SubmitReport } from '../port.ts';
import type { AchSettings } from './config.ts';
import { writeAchFile } from './file-writer.ts';

/**
 * The NACHA adapter: pending payouts of the `nacha` provider leave in one ACH credit file per run (docs/payouts.md
 * "NACHA ACH"). `options.sameDay` (`bursar payouts run --same-day`) asks for same-day effective entry dates.
 */
export function createNachaProvider(settings: AchSettings): PayoutProvider {
  return {
    name: 'nacha',
    async submitPending(deps, runDate, now, options = {}): Promise<SubmitReport> {
      const sameDay = options.sameDay === true;
      const { file, ineligible } = await writeAchFile(deps.pool, {
        runDate,
        sameDay,
        createdAt: now,
        settings,
      });
      if (ineligible > 0) {
        deps.log.warn(
          { ineligible, runDate },
          'ACH: payouts left pending (not USD, no account and routing number, or above $99,999,999.99)',
        );
      }
      return {
        submitted: file?.txCount ?? 0,
        files:
          file === undefined
            ? []
            : [{ id: file.id, currency: 'USD', txCount: file.txCount, sizeBytes: file.sizeBytes }],
        failed: ineligible,
      };
    },
  };
}
