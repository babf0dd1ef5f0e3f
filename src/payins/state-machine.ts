/**
 * The payment order state machine: every status change of a payment order is decided here and nowhere else.
 * Pure: no I/O. The database asserts the same rule (a trigger refuses backward moves), so a bug on one side
 * is caught by the other.
 *
 *   NOT_STARTED ─start──▶ EXECUTING ─psp_pending──▶ PENDING
 *        │                   │  │                     │  │
 *        │ risk_rejected     │  └─psp_succeeded─▶ SUCCESS ◀─┘
 *        ▼                   └────psp_failed────▶ FAILED ◀──┘
 *      FAILED
 */

export const ORDER_STATUSES = ['NOT_STARTED', 'EXECUTING', 'PENDING', 'SUCCESS', 'FAILED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['SUCCESS', 'FAILED']);

export function isFinal(status: OrderStatus): boolean {
  return FINAL_STATUSES.has(status);
}

export function isOrderStatus(value: string): value is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(value);
}

/** Progress order: a status may only move to a higher rank (final statuses share the top rank and never move). */
export const STATUS_RANK: Record<OrderStatus, number> = {
  NOT_STARTED: 0,
  EXECUTING: 1,
  PENDING: 2,
  SUCCESS: 3,
  FAILED: 3,
};

export type OrderEvent =
  /** The executor (or the hosted flow) starts working on the order. */
  | { type: 'start' }
  /** The risk check said no: no PSP call is made. */
  | { type: 'risk_rejected' }
  /** The PSP says the payment is still moving (3-D Secure, review, asynchronous method). */
  | { type: 'psp_pending'; reason: string }
  | { type: 'psp_succeeded' }
  /** A hard decline or a final failure at the PSP. */
  | { type: 'psp_failed'; code: string }
  /** The hosted page expired or was abandoned. */
  | { type: 'psp_expired' };

export type Transition =
  | { kind: 'move'; from: OrderStatus; to: OrderStatus; reason: string }
  /** Nothing to do: the event repeats what is known already (a duplicated webhook, a second settle). */
  | { kind: 'noop'; from: OrderStatus; reason: string }
  /** The event contradicts the current status; it is refused and logged, never applied. */
  | { kind: 'illegal'; from: OrderStatus; reason: string };

function target(event: OrderEvent): { to: OrderStatus; reason: string } {
  switch (event.type) {
    case 'start':
      return { to: 'EXECUTING', reason: 'execution_started' };
    case 'risk_rejected':
      return { to: 'FAILED', reason: 'risk_rejected' };
    case 'psp_pending':
      return { to: 'PENDING', reason: event.reason };
    case 'psp_succeeded':
      return { to: 'SUCCESS', reason: 'psp_succeeded' };
    case 'psp_failed':
      return { to: 'FAILED', reason: event.code };
    case 'psp_expired':
      return { to: 'FAILED', reason: 'expired' };
  }
}

/** Which events each status accepts. Anything else is illegal unless it repeats the current status. */
const ACCEPTS: Record<OrderStatus, ReadonlySet<OrderEvent['type']>> = {
  NOT_STARTED: new Set(['start', 'risk_rejected']),
  // PSP answers are only expected after `start`: we never call the PSP for an order that has not started.
  EXECUTING: new Set(['psp_pending', 'psp_succeeded', 'psp_failed', 'psp_expired']),
  PENDING: new Set(['psp_succeeded', 'psp_failed', 'psp_expired']),
  SUCCESS: new Set(),
  FAILED: new Set(),
};

/** Decides what `event` does to an order in status `from`. */
export function transition(from: OrderStatus, event: OrderEvent): Transition {
  const { to, reason } = target(event);
  if (to === from) return { kind: 'noop', from, reason: `already ${from}` };
  if (ACCEPTS[from].has(event.type)) return { kind: 'move', from, to, reason };
  if (isFinal(from)) {
    // A late or duplicated PSP event about a settled order: harmless when it agrees, suspicious when not.
    return {
      kind: isFinal(to) && to !== from ? 'illegal' : 'noop',
      from,
      reason: `${from} is final; ${event.type} ignored`,
    };
  }
  if (STATUS_RANK[to] < STATUS_RANK[from]) {
    return { kind: 'noop', from, reason: `${event.type} would move ${from} back to ${to}; ignored` };
  }
  return { kind: 'illegal', from, reason: `${event.type} is not allowed in ${from}` };
}
