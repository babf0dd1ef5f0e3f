import type { PaymentServiceProvider } from '../../src/psp/port.ts';

/**
 * A PSP that passes every call to the one it is set to, for tests that change the PSP of a running app (a slow
 * one for a moment, or one whose address is known only after the app listens). The modules are built once with
 * this one; the test calls `use()`.
 */
export class SwitchPsp implements PaymentServiceProvider {
  private target: PaymentServiceProvider | undefined;

  constructor(initial?: PaymentServiceProvider) {
    this.target = initial;
  }

  use(target: PaymentServiceProvider): void {
    this.target = target;
  }

  private get psp(): PaymentServiceProvider {
    if (this.target === undefined) throw new Error('SwitchPsp: no PSP set yet');
    return this.target;
  }

  get name(): string {
    return this.target?.name ?? 'switch';
  }

  charge: PaymentServiceProvider['charge'] = (request) => this.psp.charge(request);
  findCharge: PaymentServiceProvider['findCharge'] = (key, metadata) => this.psp.findCharge(key, metadata);
  retrieveCharge: PaymentServiceProvider['retrieveCharge'] = (id) => this.psp.retrieveCharge(id);
  createHostedSession: PaymentServiceProvider['createHostedSession'] = (request) =>
    this.psp.createHostedSession(request);
  retrieveHostedSession: PaymentServiceProvider['retrieveHostedSession'] = (id) =>
    this.psp.retrieveHostedSession(id);
  refund: PaymentServiceProvider['refund'] = (request) => this.psp.refund(request);
  retrieveDispute: PaymentServiceProvider['retrieveDispute'] = (id) => this.psp.retrieveDispute(id);
  listDisputes: NonNullable<PaymentServiceProvider['listDisputes']> = async (createdGte, startingAfter) =>
    this.psp.listDisputes === undefined
      ? { disputes: [], hasMore: false }
      : await this.psp.listDisputes(createdGte, startingAfter);
  submitDisputeEvidence: PaymentServiceProvider['submitDisputeEvidence'] = (request) =>
    this.psp.submitDisputeEvidence(request);
  closeDispute: PaymentServiceProvider['closeDispute'] = (id, key) => this.psp.closeDispute(id, key);
  retrieveRefund: PaymentServiceProvider['retrieveRefund'] = (id) => this.psp.retrieveRefund(id);
  listRefunds: NonNullable<PaymentServiceProvider['listRefunds']> = async (createdGteUnix) =>
    this.psp.listRefunds === undefined ? [] : await this.psp.listRefunds(createdGteUnix);
  findRefund: PaymentServiceProvider['findRefund'] = (paymentId, metadata) =>
    this.psp.findRefund(paymentId, metadata);
  verifyWebhook: PaymentServiceProvider['verifyWebhook'] = (raw, signature) =>
    this.psp.verifyWebhook(raw, signature);
  interpretEvent: PaymentServiceProvider['interpretEvent'] = (event) => this.psp.interpretEvent(event);
}
