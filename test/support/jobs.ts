import type { JobSender } from '../../src/jobs/queue.ts';

/**
 * The job sender of a replay whose queue is a table (the executor's orders, PSP events, the outbox, refunds): its
 * hook puts the work back itself, so a replay that sends a job fails the test.
 */
export const NO_JOBS: JobSender = {
  send: (_db, queue) => Promise.reject(new Error(`a replay of ${queue} sent a pg-boss job`)),
};
