import { AppError } from '../errors.ts';
import type { App } from '../http/app.ts';
import { errorResponses } from '../http/schemas.ts';
import { WebhookReceived } from './http-schemas.ts';

/** Signature-authenticated (no API key), answering `{ received, duplicate }` or an error. */
const WEBHOOK_ROUTE = {
  config: { auth: 'signature' },
  schema: {
    summary: 'PSP webhook',
    description:
      "The PSP's (Stripe's or the sandbox's) signed events; verified against Stripe-Signature, stored once, then processed.",
    tags: ['webhooks'],
    response: { 200: WebhookReceived, ...errorResponses() },
  },
} as const;
import { recordPspEvent } from './psp-events.ts';
import type { PayinsRuntime } from './runtime.ts';

/**
 * `POST /v1/webhooks/psp/stripe`: no API key — the PSP's signature over the raw body is the authentication. A
 * missing, wrong or stale signature gets 400 and nothing is stored; a verified event is stored once and answered
 * at once (one statement: the events table is the workers' queue), and a worker acts on it.
 */
export function registerWebhookRoute(app: App, runtime: PayinsRuntime): void {
  app.post('/v1/webhooks/psp/stripe', WEBHOOK_ROUTE, async (request, reply) => {
    const raw = request.rawBody;
    const signature = request.headers['stripe-signature'];
    if (raw === undefined || raw.length === 0)
      throw new AppError('webhook_signature_invalid', 'the webhook has no body to verify');
    let event;
    try {
      event = runtime.psp.verifyWebhook(raw, typeof signature === 'string' ? signature : undefined);
    } catch (error) {
      request.log.warn({ err: error }, 'webhook refused: signature missing, wrong or stale');
      throw new AppError('webhook_signature_invalid', 'the webhook signature is missing, wrong or too old');
    }
    const stored = await recordPspEvent(runtime, 'stripe', event);
    return reply.code(200).send({ received: true, duplicate: !stored });
  });
}
