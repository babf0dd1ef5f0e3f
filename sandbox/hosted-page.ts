import type { FastifyInstance, FastifyReply } from 'fastify';
import { withTransaction } from '../src/db/tx.ts';
import { formatAmount } from '../src/money/index.ts';
import { isCurrencyCode } from '../src/money/currency.ts';
import { createCardPaymentMethod, readTypedCard } from './api-payments.ts';
import type { SandboxCtx } from './context.ts';
import { StripeApiError } from './errors.ts';
import type { FormObject } from './form.ts';
import type { SandboxRuntime } from './http.ts';
import { newId } from './ids.ts';
import { paymentIntentObject, unixSeconds } from './objects.ts';
import { confirmIntent } from './payments.ts';
import { emitEvent } from './events.ts';
import { getObject, insertObject, saveObject, type StoredObject } from './store.ts';
import { amountFromWire } from './wire-amount.ts';

/**
 * The hosted payment page at a Checkout Session's `url`: a plain, accessible HTML form (labels "Card number",
 * "Expiry", "CVC", "Name on card" and a "Pay" button) that works without JavaScript, a 3-D Secure challenge page
 * with approve and fail buttons, and the redirect back to `success_url` (or `cancel_url`) with the session id.
 * A decline shows the reason on the page and leaves the session open for another card, as Stripe does.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Stripe fills `{CHECKOUT_SESSION_ID}` in the return URLs; when the template is absent we add `session_id`. */
export function returnUrl(template: string, sessionId: string): string {
  if (template.includes('{CHECKOUT_SESSION_ID}'))
    return template.split('{CHECKOUT_SESSION_ID}').join(encodeURIComponent(sessionId));
  const url = new URL(template);
  url.searchParams.set('session_id', sessionId);
  return url.toString();
}

function displayAmount(amountMinor: bigint, currency: string): string {
  const code = currency.toUpperCase();
  return isCurrencyCode(code)
    ? `${code} ${formatAmount(amountMinor, code)}`
    : `${code} ${amountMinor.toString()}`;
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
  label { display: block; margin-top: 1rem; font-weight: 600; }
  input { display: block; width: 100%; box-sizing: border-box; padding: .6rem; font-size: 1rem; border: 1px solid #767676; border-radius: 4px; }
  button { margin-top: 1.5rem; width: 100%; padding: .8rem; font-size: 1.1rem; border: 0; border-radius: 4px; background: #0a5bd8; color: #fff; cursor: pointer; }
  button.secondary { background: #5a5a5a; }
  [role=alert] { margin-top: 1rem; padding: .8rem; border: 1px solid #b00020; color: #b00020; border-radius: 4px; }
  .note { color: #555; font-size: .9rem; }
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

function paymentForm(session: StoredObject, error?: string, values: { name?: string } = {}): string {
  const data = session.data;
  const items = ((session.internal.lineItems ?? []) as Array<{ name: string; quantity: number }>)
    .map((item) => `<li>${escapeHtml(item.name)} × ${item.quantity}</li>`)
    .join('');
  const cancel =
    typeof data.cancel_url === 'string'
      ? `<p><a href="${escapeHtml(returnUrl(data.cancel_url, session.id))}">Cancel and return</a></p>`
      : '';
  return layout(
    'Pay — Bursar sandbox',
    `<h1>Pay ${escapeHtml(displayAmount(amountFromWire(data.amount_total, 'amount_total'), String(data.currency)))}</h1>
<ul>${items}</ul>
<p class="note">Sandbox checkout: use a test card such as 4242 4242 4242 4242, any future expiry and any CVC.</p>
${error === undefined ? '' : `<div role="alert" id="payment-error">${escapeHtml(error)}</div>`}
<form method="post" action="/c/pay/${escapeHtml(session.id)}" ${error === undefined ? '' : 'aria-describedby="payment-error"'}>
  <label for="card-number">Card number</label>
  <input id="card-number" name="card_number" inputmode="numeric" autocomplete="cc-number" required>
  <label for="expiry">Expiry</label>
  <input id="expiry" name="expiry" placeholder="MM / YY" autocomplete="cc-exp" required>
  <label for="cvc">CVC</label>
  <input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" required>
  <label for="name">Name on card</label>
  <input id="name" name="name" autocomplete="cc-name" value="${escapeHtml(values.name ?? '')}" required>
  <button type="submit">Pay</button>
</form>
${cancel}`,
  );
}

function challengePage(action: string, amount: string): string {
  return layout(
    '3-D Secure authentication — Bursar sandbox',
    `<h1>3-D Secure authentication</h1>
<p>Your bank asks you to confirm this payment of ${escapeHtml(amount)}.</p>
<form method="post" action="${escapeHtml(action)}">
  <button type="submit" name="action" value="approve">Complete authentication</button>
  <button type="submit" name="action" value="fail" class="secondary">Fail authentication</button>
</form>`,
  );
}

function messagePage(title: string, message: string, status = 200): { status: number; html: string } {
  return { status, html: layout(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`) };
}

function field(body: FormObject, name: string): string {
  const value = body[name];
  return typeof value === 'string' ? value : '';
}

type PageResult = { redirect: string } | { status: number; html: string };

/**
 * The hosted page may not be framed by anyone (clickjacking a card form), loads nothing from elsewhere, and runs
 * no script; its one inline style block is allowed. Forms are not restricted: a payment redirects the buyer to
 * the marketplace's return URL on another origin.
 */
export const HOSTED_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

function send(reply: FastifyReply, result: PageResult): FastifyReply {
  void reply.header('cache-control', 'no-store');
  void reply.header('content-security-policy', HOSTED_PAGE_CSP);
  void reply.header('x-frame-options', 'DENY');
  if ('redirect' in result) return reply.redirect(result.redirect, 303);
  return reply.code(result.status).type('text/html; charset=utf-8').send(result.html);
}

export function registerHostedPage(app: FastifyInstance, runtime: SandboxRuntime): void {
  const inTransaction = async (work: (ctx: SandboxCtx) => Promise<PageResult>): Promise<PageResult> => {
    const result = await withTransaction(runtime.pool, (client) =>
      work({
        db: client,
        now: runtime.now(),
        config: runtime.config,
        baseUrl: runtime.baseUrl(),
        faults: runtime.faults,
      }),
    );
    runtime.onCommit();
    return result;
  };

  const closedSession = (session: StoredObject): PageResult | undefined => {
    if (session.data.status === 'open') return undefined;
    if (session.data.status === 'complete')
      return { redirect: returnUrl(String(session.data.success_url), session.id) };
    return messagePage(
      'This checkout session has expired',
      'Return to the shop and start the payment again.',
      410,
    );
  };

  app.get('/c/pay/:id', async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const result = await inTransaction(async (ctx) => {
      const session = await getObject(ctx.db, id, { kind: 'checkout.session' });
      if (session === undefined)
        return messagePage('Page not found', 'There is no checkout session at this address.', 404);
      return closedSession(session) ?? { status: 200, html: paymentForm(session) };
    });
    return send(reply, result);
  });

  app.post('/c/pay/:id', async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const body = (request.body ?? {}) as FormObject;
    const result = await inTransaction(async (ctx) => {
      const session = await getObject(ctx.db, id, { kind: 'checkout.session', forUpdate: true });
      if (session === undefined)
        return messagePage('Page not found', 'There is no checkout session at this address.', 404);
      const closed = closedSession(session);
      if (closed !== undefined) return closed;
      const name = field(body, 'name').trim();
      const typed = readTypedCard(
        { number: field(body, 'card_number'), expiry: field(body, 'expiry'), cvc: field(body, 'cvc') },
        ctx.now,
      );
      if (!typed.ok) return { status: 200, html: paymentForm(session, typed.message, { name }) };
      const paymentMethod = await createCardPaymentMethod(ctx, {
        number: typed.number,
        expMonth: typed.expMonth,
        expYear: typed.expYear,
        name: name === '' ? null : name,
        metadata: {},
      });
      const intent = await intentForSession(ctx, session);
      session.data.customer_details = {
        address: null,
        email: session.data.customer_email ?? null,
        name: name || null,
        phone: null,
        tax_exempt: 'none',
        tax_ids: [],
      };
      await saveObject(ctx.db, session);
      const outcome = await confirmIntent(ctx, intent, paymentMethod);
      if (outcome.kind === 'requires_action') return { redirect: `/c/pay/${session.id}/3ds` };
      if (outcome.kind === 'declined')
        return { status: 200, html: paymentForm(session, outcome.decline.message, { name }) };
      return { redirect: returnUrl(String(session.data.success_url), session.id) };
    });
    return send(reply, result);
  });

  app.get('/c/pay/:id/3ds', async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const result = await inTransaction(async (ctx) => {
      const session = await getObject(ctx.db, id, { kind: 'checkout.session' });
      if (session === undefined)
        return messagePage('Page not found', 'There is no checkout session at this address.', 404);
      return (
        closedSession(session) ?? {
          status: 200,
          html: challengePage(
            `/c/pay/${id}/3ds`,
            displayAmount(
              amountFromWire(session.data.amount_total, 'amount_total'),
              String(session.data.currency),
            ),
          ),
        }
      );
    });
    return send(reply, result);
  });

  app.post('/c/pay/:id/3ds', async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const approve = field((request.body ?? {}) as FormObject, 'action') === 'approve';
    const result = await inTransaction(async (ctx) => {
      const session = await getObject(ctx.db, id, { kind: 'checkout.session', forUpdate: true });
      if (session === undefined)
        return messagePage('Page not found', 'There is no checkout session at this address.', 404);
      const closed = closedSession(session);
      if (closed !== undefined) return closed;
      const intentId = session.internal.paymentIntent;
      const intent =
        typeof intentId === 'string'
          ? await getObject(ctx.db, intentId, { kind: 'payment_intent', forUpdate: true })
          : undefined;
      if (intent === undefined || intent.data.status !== 'requires_action')
        return { redirect: `/c/pay/${id}` };
      const paymentMethod = await getObject(ctx.db, String(intent.data.payment_method), {
        kind: 'payment_method',
      });
      if (paymentMethod === undefined) return { redirect: `/c/pay/${id}` };
      const outcome = await confirmIntent(ctx, intent, paymentMethod, { authenticated: approve });
      if (outcome.kind === 'declined')
        return { status: 200, html: paymentForm(session, outcome.decline.message) };
      return { redirect: returnUrl(String(session.data.success_url), session.id) };
    });
    return send(reply, result);
  });

  // The challenge of a server-side PaymentIntent that answered `requires_action` (next_action.redirect_to_url).
  app.get('/3ds/:id', async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const result = await inTransaction(async (ctx) => {
      const intent = await getObject(ctx.db, id, { kind: 'payment_intent' });
      if (intent === undefined || intent.data.status !== 'requires_action')
        return messagePage('Nothing to authenticate', 'This payment does not need authentication.', 404);
      return {
        status: 200,
        html: challengePage(
          `/3ds/${id}`,
          displayAmount(amountFromWire(intent.data.amount, 'amount'), String(intent.data.currency)),
        ),
      };
    });
    return send(reply, result);
  });

  app.post('/3ds/:id', async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const approve = field((request.body ?? {}) as FormObject, 'action') === 'approve';
    const result = await inTransaction(async (ctx) => {
      const intent = await getObject(ctx.db, id, { kind: 'payment_intent', forUpdate: true });
      if (intent === undefined || intent.data.status !== 'requires_action')
        return messagePage('Nothing to authenticate', 'This payment does not need authentication.', 404);
      const paymentMethod = await getObject(ctx.db, String(intent.data.payment_method), {
        kind: 'payment_method',
      });
      if (paymentMethod === undefined)
        throw new StripeApiError(400, { type: 'invalid_request_error', message: 'payment method missing' });
      const outcome = await confirmIntent(ctx, intent, paymentMethod, { authenticated: approve });
      const back = intent.internal.returnUrl;
      if (typeof back === 'string' && back !== '') {
        const url = new URL(back);
        url.searchParams.set('payment_intent', intent.id);
        return { redirect: url.toString() };
      }
      return outcome.kind === 'succeeded'
        ? messagePage('Authentication complete', 'The payment succeeded. You can close this page.')
        : messagePage('Authentication failed', 'The payment was not authenticated.');
    });
    return send(reply, result);
  });
}

/** One PaymentIntent per session, made at the first attempt and reused after a decline, as Stripe does. */
async function intentForSession(ctx: SandboxCtx, session: StoredObject): Promise<StoredObject> {
  const existingId = session.internal.paymentIntent;
  if (typeof existingId === 'string') {
    const existing = await getObject(ctx.db, existingId, { kind: 'payment_intent', forUpdate: true });
    if (existing !== undefined && existing.data.status === 'requires_payment_method') return existing;
  }
  const intentData = (session.internal.paymentIntentData ?? {}) as {
    metadata?: Record<string, string>;
    description?: string;
    statementDescriptor?: string | null;
    receiptEmail?: string | null;
  };
  const id = newId('pi');
  const created = unixSeconds(ctx.now);
  const data = paymentIntentObject({
    id,
    created,
    amountMinor: amountFromWire(session.data.amount_total, 'amount_total'),
    currency: String(session.data.currency),
    description: intentData.description ?? null,
    metadata: intentData.metadata ?? {},
    paymentMethod: null,
    receiptEmail: intentData.receiptEmail ?? null,
    statementDescriptor: intentData.statementDescriptor ?? null,
  });
  const intent: StoredObject = {
    id,
    object: 'payment_intent',
    created,
    data,
    internal: { checkoutSession: session.id },
  };
  await insertObject(ctx.db, intent);
  await emitEvent(ctx, 'payment_intent.created', data);
  session.internal.paymentIntent = id;
  session.data.payment_intent = id;
  await saveObject(ctx.db, session);
  return intent;
}
