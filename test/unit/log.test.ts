import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubCardNumbers } from '../../src/log.ts';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { lines, stream };
}

describe('structured logs', () => {
  it('never contain authorization headers or secrets', () => {
    const { lines, stream } = capture();
    const log = createLogger('info', stream);
    log.info({ req: { headers: { authorization: 'Bearer bsk_supersecret' } }, secret: 'whsec_x' }, 'request');
    log.info({ config: { password: 'hunter2', databaseUrl: 'postgres://u:p@h/d' } }, 'config');
    const text = lines.join('');
    expect(text).not.toContain('bsk_supersecret');
    expect(text).not.toContain('whsec_x');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('u:p@h');
    expect(text).toContain('[REDACTED]');
  });

  it('mask anything shaped like a card number, in messages and in fields', () => {
    const { lines, stream } = capture();
    const log = createLogger('info', stream);
    log.info(
      { note: 'paid with 4242 4242 4242 4242', nested: { deep: ['5555555555554444'] } },
      'card 4000000000000002',
    );
    const text = lines.join('');
    expect(text).not.toMatch(/4242 4242 4242 4242|5555555555554444|4000000000000002/);
    expect(text).toContain('[REDACTED_PAN]');
    expect(scrubCardNumbers('order 12345')).toBe('order 12345');
  });
});
