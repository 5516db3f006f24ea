import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createRootLogger } from './logger';

describe('root logger', () => {
  it('scrubs every configured secret from every line, wherever it appears', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createRootLogger(
      { log: { level: 'info', format: 'json' }, secrets: ['hunter2-secret', 'p@ss word'] },
      sink,
    );
    logger.error({ err: { message: 'connect to postgres://u:hunter2-secret@db failed' } }, 'boom p@ss word');
    logger.info('nothing to hide');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.length, 2);
    assert.ok(!lines[0].includes('hunter2-secret') && !lines[0].includes('p@ss word'), lines[0]);
    assert.match(lines[0], /postgres:\/\/u:\*\*\*@db/);
    assert.match(lines[1], /nothing to hide/);
  });
});
