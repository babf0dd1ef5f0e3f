/**
 * The events module (docs/events.md): the event log every module writes through `recordEvent` in the transaction
 * of its change, the events API, and webhook endpoints with their signed, retried deliveries.
 */
export { recordEvent, recordEvents, API_VERSION, EVENTS_CHANNEL } from './record.ts';
export { createEvents, type EventsModule, type EventsModuleDeps } from './module.ts';
export { loadEventsConfig, type EventsConfig } from './config.ts';
export type { EnvWebhook } from './endpoints.ts';
export { signatureHeader, eventBody } from './sender.ts';
export { isPrivateAddress, checkEndpointUrl } from './url-guard.ts';
