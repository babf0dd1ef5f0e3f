/** The sandbox PSP's public surface, for its launcher (sandbox/launch.ts), the chaos harness and tests. */
export { createSandboxServer, type SandboxDeps, type SandboxServer } from './server.ts';
export {
  loadSandboxConfig,
  resolveWebhookSecret,
  resolvePayoutWebhookSecret,
  DEFAULT_SANDBOX_CONFIG,
  type SandboxConfig,
  type WebhookTarget,
} from './config.ts';
export { parseFaults, type Faults, type FaultRule, type WebhookFaults } from './faults.ts';
export { signPayload } from './signature.ts';
export { TEST_CARDS, TEST_PAYMENT_METHODS } from './cards.ts';
export { REPORT_TYPE, DEFAULT_COLUMNS as REPORT_DEFAULT_COLUMNS } from './report.ts';
export { migrateSandbox, SANDBOX_CHAIN, SANDBOX_MIGRATIONS_DIR } from './migrate.ts';
export { sandboxService } from './launch.ts';
