/** The ledger module's public face: use cases, chart of accounts, recipes and types. */
export * from './service.ts';
export * from './chart.ts';
export * from './recipes.ts';
export * from './types.ts';
