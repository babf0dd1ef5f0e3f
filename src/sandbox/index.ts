/** The sandbox PSP's public surface, for the composition root and for tests. */
export { createSandboxServer, type SandboxDeps, type SandboxServer } from './server.ts';
export {
  loadSandboxConfig,
  resolveWebhookSecret,
  DEFAULT_SANDBOX_CONFIG,
  type SandboxConfig,
  type WebhookTarget,
} from './config.ts';
export { parseFaults, type Faults, type FaultRule, type WebhookFaults } from './faults.ts';
export { signPayload } from './signature.ts';
export { TEST_CARDS, TEST_PAYMENT_METHODS } from './cards.ts';
export { REPORT_TYPE, DEFAULT_COLUMNS as REPORT_DEFAULT_COLUMNS } from './report.ts';
