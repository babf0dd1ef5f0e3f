import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ByteSource } from './camt/types.ts';

/**
 * A file to import: opened twice, once to fingerprint it and once to read it, so that a file seen before is
 * refused before any of it is parsed, and nothing is held in memory but the chunk at hand.
 */
export interface FileInput {
  name: string;
  open(): ByteSource;
}

export function fileInput(filePath: string): FileInput {
  return {
    name: path.basename(filePath),
    open: () => fs.createReadStream(filePath, { highWaterMark: 256 * 1024 }),
  };
}

export function contentInput(name: string, content: string | Uint8Array): FileInput {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return { name, open: () => [bytes] };
}

/** SHA-256 of the file's bytes: the same file imported twice has the same fingerprint. */
export async function fingerprintOf(input: FileInput): Promise<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of input.open() as AsyncIterable<Uint8Array | string>) hash.update(chunk);
  return hash.digest();
}
