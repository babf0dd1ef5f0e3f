/**
 * Something that runs in the background of a process role (workers, schedulers, the sandbox PSP). Lives apart
 * from the composition root so that modules can build their services without importing it (no import cycle).
 */
export interface BackgroundService {
  name: string;
  start(): Promise<void>;
  /** Stops taking new work and waits for the work in hand. */
  stop(): Promise<void>;
  /** Lines to print at start, such as a URL. */
  describe?(): string[];
  /**
   * Why the service is degraded now (a transient failure it is retrying with backoff), or undefined when it is
   * well. Polled by the process; shown by `/readyz`.
   */
  health?(): string | undefined;
  /**
   * Registers the process's listener for a permanent failure after start (the service cannot go on). The process
   * then drains and exits non-zero, so its supervisor restarts it.
   */
  onFailure?(listener: (error: Error) => void): void;
}
