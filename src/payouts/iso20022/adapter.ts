import type { PayoutProvider } from '../port.ts';
import type { Debtor, PainVersion } from './pain001.ts';
import { writePayoutFiles } from './file-writer.ts';

/** The ISO 20022 adapter: pending payouts leave in pain.001 files, one per run and debtor account (currency). */
export function createIso20022Provider(options: {
  version: PainVersion;
  debtorFor: (currency: string) => Debtor;
}): PayoutProvider {
  return {
    name: 'iso20022',
    async submitPending(deps, runDate, now) {
      const files = await writePayoutFiles(deps.pool, {
        runDate,
        debtorFor: options.debtorFor,
        version: options.version,
        createdAt: now,
      });
      return {
        submitted: files.reduce((n, file) => n + file.txCount, 0),
        files: files.map((file) => ({
          id: file.id,
          currency: file.currency,
          txCount: file.txCount,
          sizeBytes: file.sizeBytes,
        })),
        failed: 0,
      };
    },
  };
}
