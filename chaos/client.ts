import type { Prng } from './prng.ts';

/**
 * The chaos client: plays the marketplace backend (POST /v1/payments, retried with the same Idempotency-Key, some
 * copies concurrently, to any API process) and the buyer on the hosted page (submits the sandbox's form over HTTP).
 *
 * The rule for "every retry got the same answer": an answer is *definitive* unless it is a transport failure (the
 * process was killed, a reset, a timeout), 429 `request_in_progress` (the first request still holds the key) or
 * 503 `service_unavailable` (the PSP was unreachable and the key was released), each of which tells the client to
 * try again. Every definitive answer to one Idempotency-Key must have the same HTTP status and the same JSON body
 * (deep equality; the `Idempotent-Replayed` header is allowed to differ). A 500 is counted and retried, and is
 * reported separately: it is not an answer, but it should not happen.
 */

export type Flow = 'saved_method' | 'hosted_page';

export interface CheckoutPlan {
  index: number;
  checkoutId: string;
  idempotencyKey: string;
  flow: Flow;
  body: Record<string, unknown>;
  /** Copies of the first request sent at the same time (to other API processes). */
  concurrentCopies: number;
  /** One more retry after the definitive answer. */
  retryAfterAnswer: boolean;
  /** Hosted: cards typed on the page, in order (a declined one first, sometimes). */
  hostedCards: string[];
  /** Hosted: the buyer never pays; the session is expired at the PSP instead. */
  abandon: boolean;
}

export interface Answer {
  status: number;
  /** Parsed JSON (undefined for a transport failure). */
  body: unknown;
  error?: string;
  api: number;
  copy: number;
  atMs: number;
}

export interface CheckoutRecord {
  plan: CheckoutPlan;
  answers: Answer[];
  definitive: Answer | undefined;
  hosted?: {
    sessionId: string;
    outcome: 'paid' | 'declined_then_paid' | 'abandoned' | 'review' | 'page_error';
    detail?: string;
  };
}

export interface ClientEnv {
  apiUrls: string[];
  apiKey: string;
  sandboxUrl: string;
  sandboxSecretKey: string;
  /** Give up on one checkout after this long without a definitive answer. */
  giveUpMs: number;
}

const NON_DEFINITIVE_CODES = new Set(['request_in_progress', 'service_unavailable']);

export function isDefinitive(answer: Answer): boolean {
  if (answer.status === 0 || answer.status >= 500) return false;
  if (answer.status === 429) {
    const code = (answer.body as { error?: { code?: string } } | undefined)?.error?.code;
    return !NON_DEFINITIVE_CODES.has(code ?? '');
  }
  return true;
}

async function postPayment(env: ClientEnv, api: number, plan: CheckoutPlan, copy: number): Promise<Answer> {
  const url = env.apiUrls[api % env.apiUrls.length] ?? env.apiUrls[0] ?? '';
  try {
    const response = await fetch(`${url}/v1/payments`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${env.apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': plan.idempotencyKey,
      },
      body: JSON.stringify(plan.body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = text;
    }
    return { status: response.status, body, api, copy, atMs: Date.now() };
  } catch (error) {
    return { status: 0, body: undefined, error: (error as Error).message, api, copy, atMs: Date.now() };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends until a definitive answer (or giving up), backing off between tries; every answer is recorded. */
async function sendUntilDefinitive(
  env: ClientEnv,
  plan: CheckoutPlan,
  random: Prng,
  copy: number,
  answers: Answer[],
): Promise<Answer | undefined> {
  const deadline = Date.now() + env.giveUpMs;
  let attempt = 0;
  for (;;) {
    const answer = await postPayment(env, random.int(0, env.apiUrls.length - 1), plan, copy);
    answers.push(answer);
    if (isDefinitive(answer)) return answer;
    if (Date.now() > deadline) return undefined;
    attempt++;
    await sleep(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)) * (0.5 + random.next() / 2));
  }
}

function sessionIdOf(body: unknown): { sessionId: string; url: string } | undefined {
  const url = (body as { next_action?: { redirect_url?: string } } | undefined)?.next_action?.redirect_url;
  if (typeof url !== 'string') return undefined;
  const match = /\/c\/pay\/([^/?#]+)/.exec(url);
  return match?.[1] === undefined ? undefined : { sessionId: match[1], url };
}

/** The buyer on the sandbox's hosted page: types each card into the form until one is accepted (303). */
async function payOnHostedPage(
  env: ClientEnv,
  plan: CheckoutPlan,
  session: { sessionId: string; url: string },
): Promise<NonNullable<CheckoutRecord['hosted']>> {
  if (plan.abandon) {
    // Stripe expires an unpaid session after 24 h; the run cannot wait, so it expires it through the API.
    for (let attempt = 0; attempt < 20; attempt++) {
      const response = await fetch(`${env.sandboxUrl}/v1/checkout/sessions/${session.sessionId}/expire`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${env.sandboxSecretKey}`,
          'idempotency-key': `chaos-expire-${plan.checkoutId}`,
        },
      }).catch(() => undefined);
      if (response !== undefined) await response.arrayBuffer();
      if (response !== undefined && (response.ok || response.status === 400))
        return { sessionId: session.sessionId, outcome: 'abandoned' };
      await sleep(200);
    }
    return { sessionId: session.sessionId, outcome: 'page_error', detail: 'could not expire the session' };
  }
  let declined = false;
  for (const card of plan.hostedCards) {
    const form = new URLSearchParams({
      card_number: card,
      expiry: '12 / 34',
      cvc: '123',
      name: 'Chaos Buyer',
    });
    let response: Response | undefined;
    // No answer, or a 5xx (the PSP's database restarting under --kill-db): the buyer submits again, as one would.
    for (let attempt = 0; attempt < 60; attempt++) {
      response = await fetch(session.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(15_000),
      }).catch(() => undefined);
      if (response !== undefined && (response.status < 500 || attempt === 59)) break;
      if (response !== undefined) await response.arrayBuffer();
      response = undefined;
      await sleep(250);
    }
    if (response === undefined)
      return { sessionId: session.sessionId, outcome: 'page_error', detail: 'no answer' };
    const html = await response.text();
    if (response.status === 303) {
      const review = card === REVIEW_CARD;
      return {
        sessionId: session.sessionId,
        outcome: review ? 'review' : declined ? 'declined_then_paid' : 'paid',
      };
    }
    if (response.status === 200 && html.includes('role="alert"')) {
      declined = true;
      continue;
    }
    return { sessionId: session.sessionId, outcome: 'page_error', detail: `HTTP ${response.status}` };
  }
  return { sessionId: session.sessionId, outcome: 'page_error', detail: 'every card declined' };
}

export const REVIEW_CARD = '4000000000009235';

/** Plays one checkout from the first POST to the buyer's last click, recording every answer. */
export async function driveCheckout(
  env: ClientEnv,
  plan: CheckoutPlan,
  random: Prng,
): Promise<CheckoutRecord> {
  const answers: Answer[] = [];
  const copies = Array.from({ length: 1 + plan.concurrentCopies }, (_, copy) =>
    sendUntilDefinitive(env, plan, random.fork(), copy, answers),
  );
  const results = await Promise.all(copies);
  let definitive = results.find((answer) => answer !== undefined);
  if (definitive !== undefined && plan.retryAfterAnswer) {
    const again = await sendUntilDefinitive(env, plan, random.fork(), 1 + plan.concurrentCopies, answers);
    definitive ??= again;
  }
  const record: CheckoutRecord = { plan, answers, definitive };
  if (plan.flow === 'hosted_page' && definitive?.status === 201) {
    const session = sessionIdOf(definitive.body);
    record.hosted =
      session === undefined
        ? { sessionId: '', outcome: 'page_error', detail: 'no redirect_url in the answer' }
        : await payOnHostedPage(env, plan, session);
  }
  return record;
}
