import type { BankDetails } from './bank.ts';
import type { PayoutProvider, PayoutProviderName, SubmitReport } from './port.ts';

/**
 * Several payout providers at once (BURSAR_PAYOUT_PROVIDERS): each payout goes by its bank details' kind — an IBAN
 * to the provider of SEPA transfers (iso20022 or sandbox), account + routing number to nacha — or, when the
 * provider for its kind is not enabled, to the first one. A run hands over to every provider in turn.
 */
export function createRoutedProvider(providers: PayoutProvider[]): PayoutProvider {
  const [first] = providers;
  if (first === undefined) throw new Error('no payout provider enabled');
  const byName = new Map(providers.map((provider) => [provider.name, provider]));
  const nameFor = (destination: BankDetails): PayoutProviderName => {
    const wanted: PayoutProviderName[] = destination.kind === 'ach' ? ['nacha'] : ['iso20022', 'sandbox'];
    return wanted.find((name) => byName.has(name)) ?? first.name;
  };
  return {
    name: first.name,
    nameFor,
    async submitPending(deps, runDate, now, options) {
      const report: SubmitReport = { submitted: 0, files: [], failed: 0 };
      for (const provider of providers) {
        const part = await provider.submitPending(deps, runDate, now, options);
        report.submitted += part.submitted;
        report.files.push(...part.files);
        report.failed += part.failed;
      }
      return report;
    },
  };
}
