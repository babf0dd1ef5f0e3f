import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBase32 } from '../random-id.ts';
import { BufferedBytes } from './buffered-bytes.ts';

/** Bytes gathered in memory before they are written to the spool file. */
const BUFFER_BYTES = 256 * 1024;

/**
 * A payout file's bytes on their way to the database: written to a temporary file while they are formatted, read
 * back in fixed-size pieces afterwards, so memory stays flat however large the file. The temporary file is
 * unlinked as soon as it is opened (only this process's descriptor reaches it, mode 0600), so nothing is left
 * behind even when the process is killed; `close()` frees the space.
 */
export class Spool extends BufferedBytes {
  /** Bytes written to the file so far (not counting what is still buffered). */
  private written = 0;

  private constructor(private readonly handle: fs.FileHandle) {
    super(BUFFER_BYTES);
  }

  static async open(): Promise<Spool> {
    const file = path.join(os.tmpdir(), `bursar-payout-file-${randomBase32(16)}`);
    const handle = await fs.open(file, 'wx+', 0o600);
    await fs.unlink(file).catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    return new Spool(handle);
  }

  protected async emit(data: Buffer): Promise<void> {
    await this.handle.write(data, 0, data.length, this.written);
    this.written += data.length;
  }

  /** The bytes written, in pieces of at most `size` bytes, from the start (call `flush()` first). */
  async *pieces(size: number): AsyncGenerator<Buffer> {
    for (let position = 0; position < this.written; position += size) {
      const piece = Buffer.alloc(Math.min(size, this.written - position));
      const { bytesRead } = await this.handle.read(piece, 0, piece.length, position);
      if (bytesRead !== piece.length) throw new Error('payout file spool: short read');
      yield piece;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
