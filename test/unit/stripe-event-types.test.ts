import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { interpretStripeEvent, STRIPE_EVENT_TYPES } from '../../src/psp/index.ts';

/**
 * STRIPE_EVENT_TYPES is what Bursar's webhook endpoint is to be subscribed to (and all the sandbox sends Bursar): it
 * must be exactly the types the adapter acts on, or an event Bursar needs would never be sent.
 */

const SPEC = path.resolve(import.meta.dirname, '../../../shared/reference/stripe/spec3-2022-04.json');

/** Every event type a webhook endpoint can be enabled for, in Stripe's OpenAPI description (April 2022). */
function specEventTypes(): string[] {
  const spec = JSON.parse(fs.readFileSync(SPEC, 'utf8')) as {
    paths: Record<string, { post?: { requestBody?: { content?: Record<string, { schema?: unknown }> } } }>;
  };
  const schema = spec.paths['/v1/webhook_endpoints']?.post?.requestBody?.content?.[
    'application/x-www-form-urlencoded'
  ]?.schema as { properties?: { enabled_events?: { items?: { enum?: string[] } } } } | undefined;
  return (schema?.properties?.enabled_events?.items?.enum ?? []).filter((type) => type !== '*');
}

/** An object with what any handled event needs to be recognised (an id, the order metadata, a payment). */
const OBJECT = { id: 'obj_1', object: 'x', metadata: { payment_order_id: 'po_1' }, payment_intent: 'pi_1' };

function unhandled(type: string): boolean {
  const meaning = interpretStripeEvent({ type, object: OBJECT });
  return meaning.subject === 'none' && meaning.why === `unhandled ${type}`;
}

describe('the Stripe event types Bursar subscribes to', () => {
  it('are exactly the types the adapter acts on, among every type Stripe can send', () => {
    const all = [...new Set([...specEventTypes(), ...STRIPE_EVENT_TYPES])];
    expect(all.length).toBeGreaterThan(150);
    const acted = all.filter((type) => !unhandled(type)).sort();
    expect(acted).toEqual([...STRIPE_EVENT_TYPES].sort());
  });
});
