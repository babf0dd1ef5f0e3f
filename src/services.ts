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
}
