import type { Database } from '../db/database.ts';
import type { AppContext } from '../context.ts';
import { listDeadLetters, replayDeadLetter, type ReplayHook } from '../jobs/dead-letters.ts';
import { JobQueue } from '../jobs/queue.ts';
import {
  EXECUTE_QUEUE,
  OUTBOX_DEAD_LETTER_QUEUE,
  PAYIN_QUEUES,
  PSP_EVENT_QUEUE,
  requeueDeadPspEvent,
  requeueOutboxMessage,
  resetForReplay,
} from '../payins/index.ts';
import { REFUND_DEAD_LETTER_QUEUE, resetRefundForReplay } from '../refunds/index.ts';
import { parse, UsageError } from './args.ts';

export const DLQ_USAGE = `bursar dlq list [--all]
bursar dlq replay <dead letter id> | --all`;

/** What each queue's owner does before a dead letter's job is sent again. */
export const REPLAY_HOOKS: Record<string, ReplayHook> = {
  [EXECUTE_QUEUE]: async (client, letter) => {
    const id = letter.payload.paymentOrderId;
    if (typeof id === 'string') await resetForReplay(client, id);
  },
  [OUTBOX_DEAD_LETTER_QUEUE]: requeueOutboxMessage,
  [PSP_EVENT_QUEUE]: requeueDeadPspEvent,
  // Refunds have no job queue: the replay makes the refund due again, and the refund worker takes it.
  [REFUND_DEAD_LETTER_QUEUE]: async (client, letter) => {
    const id = letter.payload.refundId;
    if (typeof id === 'string') await resetRefundForReplay(client, id);
    return 'handled';
  },
};

/** `bursar dlq list|replay`: replaying is safe to run twice — a dead letter is replayed at most once. */
export async function dlqCommand(
  argv: string[],
  db: Database | Pick<AppContext, 'pool'>,
  out: (line: string) => void,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') {
    const { values } = parse(rest, { all: { type: 'boolean' } });
    const letters = await listDeadLetters(db.pool, { includeReplayed: values.all === true });
    if (letters.length === 0) out('the dead-letter queue is empty');
    for (const letter of letters) {
      const state = letter.replayedAt ? `replayed ${letter.replayedAt.toISOString()}` : 'open';
      out(
        `${letter.id}  ${letter.queue}  ${letter.subject}  attempts=${letter.attempts}  ${state}  ${letter.createdAt.toISOString()}  ${letter.reason}`,
      );
    }
    return 0;
  }
  if (sub === 'replay') {
    const { values, positionals } = parse(rest, { all: { type: 'boolean' } });
    if (values.all === true ? positionals.length !== 0 : positionals.length !== 1) {
      throw new UsageError(`replay takes one dead letter id or --all\n${DLQ_USAGE}`);
    }
    const ids =
      values.all === true ? (await listDeadLetters(db.pool)).map((letter) => letter.id) : positionals;
    const jobs = new JobQueue(db.pool, PAYIN_QUEUES);
    await jobs.start();
    let failures = 0;
    try {
      for (const id of ids) {
        const result = await replayDeadLetter(db.pool, jobs, id, REPLAY_HOOKS);
        if (result.outcome === 'replayed')
          out(`replayed ${id} (${result.letter.queue} ${result.letter.subject})`);
        else if (result.outcome === 'already_replayed') out(`${id} was already replayed`);
        else {
          out(`no dead letter ${id}`);
          failures++;
        }
      }
      if (ids.length === 0) out('the dead-letter queue is empty');
    } finally {
      await jobs.stop();
    }
    return failures === 0 ? 0 : 1;
  }
  throw new UsageError(DLQ_USAGE);
}
