/**
 * Text gathered as UTF-8 bytes and handed on in pieces of at least `pieceBytes` (the last one smaller): what a
 * payout file's writers share, whether the pieces go to chunk rows or to a temporary file.
 */
export abstract class BufferedBytes {
  private parts: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly pieceBytes: number) {}

  /** Where a gathered piece goes. */
  protected abstract emit(data: Buffer): Promise<void>;

  async write(text: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    this.parts.push(bytes);
    this.buffered += bytes.length;
    if (this.buffered >= this.pieceBytes) await this.flush();
  }

  /** Hands on what is gathered, however little. */
  async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const data = Buffer.concat(this.parts, this.buffered);
    this.parts = [];
    this.buffered = 0;
    await this.emit(data);
  }
}
