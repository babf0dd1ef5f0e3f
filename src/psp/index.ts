/**
 * The PSP port (in Bursar's words) and its adapter for Stripe (through the official SDK), which works against real
 * Stripe and against the sandbox alike.
 */
export * from './port.ts';
export * from './stripe/index.ts';
