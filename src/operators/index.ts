/**
 * Dashboard operators: sign-in with email and password (scrypt), sessions with CSRF tokens, roles, the append-only
 * audit log (docs/dashboard.md). Other modules record audited writes with `recordAudit`.
 */
import type { RouteModule } from '../http/app.ts';
import { loadOperatorsConfig, type OperatorsConfig } from './config.ts';
import { operatorRoutes } from './http.ts';
import { OPERATOR_ROLES, type OperatorRole } from './store.ts';

export { recordAudit, listAudit, type AuditInput, type AuditRecord } from './audit.ts';
export { loadOperatorsConfig, type OperatorsConfig } from './config.ts';
export { requireOperator } from './guard.ts';
export { assertOperatorRole, operatorAsApiKey, scopesOfRole } from './api-access.ts';
export { createOperator, roleAllows, signIn } from './service.ts';
export { listOperators, setOperatorDisabled, purgeOperatorState, OPERATOR_ROLES } from './store.ts';
export type { Operator, OperatorRole } from './store.ts';

export function isOperatorRole(value: string): value is OperatorRole {
  return (OPERATOR_ROLES as readonly string[]).includes(value);
}

export interface OperatorsModule {
  routes: RouteModule;
  config: OperatorsConfig;
}

export function createOperators(deps: { config?: Partial<OperatorsConfig> } = {}): OperatorsModule {
  const config = { ...loadOperatorsConfig(), ...(deps.config ?? {}) };
  return { routes: operatorRoutes(config), config };
}
