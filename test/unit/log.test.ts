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

describe('log scrubbing (issue 11, item 5)', () => {
  it('masks a card number carried by a logged error: message, stack and driver fields', () => {
    const { lines, stream } = capture();
    const log = createLogger('info', stream);
    // What node-postgres throws when a card number reached a query: the value is quoted back in the message.
    const error = Object.assign(new Error('invalid input syntax for type bigint: "4111111111111111"'), {
      code: '22P02',
      detail: 'Key (note)=(card 5555-5555-5555-4444) already exists.',
      where: "unnamed portal parameter $1 = '378282246310005'",
    });
    log.error({ err: error }, 'query failed');
    log.error(error);
    const text = lines.join('');
    expect(text).not.toMatch(/4111111111111111|5555-5555-5555-4444|378282246310005/);
    expect(text.match(/\[REDACTED_PAN\]/g)?.length ?? 0).toBeGreaterThanOrEqual(5);
    // The record is still JSON with the error's code.
    const first = JSON.parse(lines[0] ?? '{}') as { err?: { code?: string; stack?: string } };
    expect(first.err?.code).toBe('22P02');
    expect(first.err?.stack).toContain('[REDACTED_PAN]');
  });

  it('masks digits next to letters, Unicode digits, other separators and bare numbers', () => {
    const { lines, stream } = capture();
    const log = createLogger('info', stream);
    log.info(
      {
        ref: 'ord4111111111111111x',
        wide: '４１１１１１１１１１１１１１１１',
        dotted: '4111.1111.1111.1111',
        slashed: '4111/1111/1111/1111',
        tabbed: '4111\t1111\t1111\t1111',
        number: 4111111111111111,
        exponent: 4.111111111111111e15,
        key4111111111111111: 'in a key',
      },
      'pan in %s',
      'msg4111111111111111',
    );
    const text = lines.join('');
    expect(text).not.toMatch(/4111\D{0,2}1111\D{0,2}1111\D{0,2}1111|１１１１/);
    const record = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(record.number).toBe('[REDACTED_PAN]');
    expect(typeof record.time).toBe('number');
    expect(record.msg).toBe('pan in msg[REDACTED_PAN]');
  });

  it('keeps ordinary values: short numbers, ids, amounts and timestamps', () => {
    expect(scrubCardNumbers('order 12345, amount 12.34, at 2026-12-01T05:56:11.123Z')).toBe(
      'order 12345, amount 12.34, at 2026-12-01T05:56:11.123Z',
    );
    expect(scrubCardNumbers('req_0a1b2c3d4e5f6a7b8c9d0e1f')).toBe('req_0a1b2c3d4e5f6a7b8c9d0e1f');
  });
});
