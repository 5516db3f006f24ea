import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Logger } from '@nestjs/common';
import { InvalidInputError, PayloadTooLargeError, UnavailableError, UnprocessableError } from '../common/errors';
import { InferenceFailedError, OutputTooLargeError } from './engine-errors';
import { ProcessPool, toError, type RestartReason } from './process-pool';
import type { DecodedRequest } from './worker/protocol';
import { waitFor } from '../../test/support/wait-for';

const SETTINGS = { intraOpThreads: 1, spinning: false, maxOutputElements: 1_000_000 };

/** A started pool of real inference processes, stopped when the test ends; restart reasons recorded. */
async function startPool(
  t: TestContext,
  size: number,
  maxRssBytes = 0,
): Promise<{ pool: ProcessPool; restarts: RestartReason[] }> {
  t.mock.method(Logger.prototype, 'warn', () => undefined);
  t.mock.method(Logger.prototype, 'error', () => undefined);
  const pool = new ProcessPool(size, SETTINGS, maxRssBytes);
  const restarts: RestartReason[] = [];
  pool.on('restart', (reason) => restarts.push(reason));
  t.after(() => pool.stop(1_000));
  pool.start();
  if (maxRssBytes === 0) assert.equal(await pool.whenReady(60_000), true, 'the processes started');
  return { pool, restarts };
}

/**
 * A request that stays in its process until the test lets it go: a load of a model file that is
 * a named pipe, whose read waits for a writer. `release()` writes something that is not a model.
 */
function heldLoad(t: TestContext, pool: ProcessPool, index: number): { request: Promise<unknown>; release(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-pool-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'held.onnx');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const request = pool.send(index, { type: 'load', model: { sha256: `held-${index}`, path: fifo } });
  request.catch(() => undefined); // each test awaits the outcome it expects
  return { request, release: () => fs.writeFileSync(fifo, 'not a model') };
}

function decode(pool: ProcessPool, index: number): Promise<DecodedRequest> {
  const body = new TextEncoder().encode(JSON.stringify({ model: 'm', inputs: { x: [[1, 2]] } }));
  return pool.send<DecodedRequest>(index, { type: 'decode', body, maxElements: 100 });
}

/**
 * Resolves once the process at `index` is ready again (it must have stopped being ready first). A
 * poll, not an event: the pool's timers are unref'd, and a test waiting on an event alone would
 * let the event loop run dry.
 */
async function readyAgain(pool: ProcessPool, index: number): Promise<void> {
  await waitFor(() => !pool.isReady(index), { what: `process ${index} to go` });
  await waitFor(() => pool.isReady(index), { what: `process ${index} to be replaced` });
}

describe('ProcessPool (real inference processes)', () => {
  it('answers requests on every process, one after the other, and keeps nothing once they are answered', async (t) => {
    const { pool, restarts } = await startPool(t, 2);
    assert.equal(pool.alive, 2);
    const answers = await Promise.all([decode(pool, 0), decode(pool, 1), decode(pool, 0)]);
    for (const answer of answers) assert.equal(answer.model, 'm');
    assert.equal(pool.inFlight, 0);
    assert.deepEqual(restarts, []);
    const described = pool.describe();
    assert.deepEqual(
      described.map((p) => p.index),
      [0, 1],
    );
    assert.ok(described.every((p) => typeof p.pid === 'number'));
  });

  it('a process’s own failure answers its request; the process goes on', async (t) => {
    const { pool } = await startPool(t, 1);
    const held = heldLoad(t, pool, 0);
    held.release();
    await assert.rejects(held.request, UnprocessableError);
    assert.equal((await decode(pool, 0)).model, 'm');
    assert.equal(pool.inFlight, 0);
  });

  it('kill: the request it held fails with 503, and a replacement takes its slot', async (t) => {
    const { pool, restarts } = await startPool(t, 2);
    const held = heldLoad(t, pool, 1);
    assert.equal(pool.inFlight, 1);
    const replaced = readyAgain(pool, 1);
    await pool.kill(1, 'timeout');
    await assert.rejects(held.request, (error) => error instanceof UnavailableError && /deadline/.test(error.message));
    assert.equal(pool.inFlight, 0);
    assert.deepEqual(restarts, ['timeout']);
    await replaced;
    assert.equal(pool.restartCount, 1);
    assert.equal((await decode(pool, 1)).model, 'm');
  });

  it('a process that dies on its own fails its request with 503 and is replaced (after a pause if it died young)', async (t) => {
    const { pool, restarts } = await startPool(t, 1);
    const held = heldLoad(t, pool, 0);
    const replaced = readyAgain(pool, 0);
    process.kill(pool.describe()[0].pid as number, 'SIGKILL');
    await assert.rejects(
      held.request,
      (error) => error instanceof UnavailableError && /stopped while running/.test(error.message),
    );
    assert.deepEqual(restarts, ['crash']);
    await assert.rejects(decode(pool, 0), /No inference process is running/);
    await replaced;
    assert.equal((await decode(pool, 0)).model, 'm');
  });

  it('recycle ends a process after its current request, which is answered, and replaces it', async (t) => {
    const { pool, restarts } = await startPool(t, 1);
    const held = heldLoad(t, pool, 0);
    const replaced = readyAgain(pool, 0);
    const recycled = pool.recycle(0);
    assert.equal(pool.isReady(0), false, 'takes no new request meanwhile');
    held.release();
    await assert.rejects(held.request, UnprocessableError, 'answered, not failed with 503');
    await recycled;
    assert.deepEqual(restarts, ['recycle']);
    await replaced;
  });

  it('stop lets a running request finish, ends every process and replaces none', async (t) => {
    const { pool, restarts } = await startPool(t, 2);
    const held = heldLoad(t, pool, 0);
    const stopped = pool.stop(60_000);
    held.release();
    await assert.rejects(held.request, UnprocessableError);
    await stopped;
    assert.equal(pool.alive, 0);
    assert.equal(pool.inFlight, 0);
    assert.deepEqual(restarts, []);
    await assert.rejects(decode(pool, 1), /No inference process is running/);
  });

  it('stop past its grace period kills what still runs: its request fails with 503', async (t) => {
    const { pool, restarts } = await startPool(t, 1);
    const held = heldLoad(t, pool, 0);
    await pool.stop(50);
    await assert.rejects(held.request, UnavailableError);
    assert.equal(pool.inFlight, 0);
    assert.deepEqual(restarts, []);
  });

  it('kills a process past INFERENCE_PROCESS_MAX_RSS_BYTES', async (t) => {
    const { restarts } = await startPool(t, 1, 1);
    await waitFor(() => restarts.length > 0, { what: 'a restart' });
    assert.equal(restarts[0], 'memory');
  });
});

describe('toError: how a failure reported by an inference process becomes an error', () => {
  it('maps every kind to its domain error, and anything else to a plain error', () => {
    const details = [{ field: 'x', problem: 'p' }];
    const cases: [Parameters<typeof toError>[0], new (...args: never[]) => Error][] = [
      [{ kind: 'unprocessable', message: 'm' }, UnprocessableError],
      [{ kind: 'invalid', message: 'm', details }, InvalidInputError],
      [{ kind: 'inference_failed', message: 'm', internal: 'raw' }, InferenceFailedError],
      [{ kind: 'output_too_large', message: 'm', details }, OutputTooLargeError],
      [{ kind: 'too_large', message: 'm' }, PayloadTooLargeError],
      [{ kind: 'unavailable', message: 'm' }, UnavailableError],
    ];
    for (const [failure, type] of cases) {
      const error = toError(failure);
      assert.ok(error instanceof type, failure.kind);
      assert.equal(error.message, 'm');
    }
    assert.deepEqual((toError({ kind: 'invalid', message: 'm', details }) as InvalidInputError).details, details);
    assert.equal((toError({ kind: 'inference_failed', message: 'm' }) as InferenceFailedError).internal, '');
    const other = toError({ kind: 'internal', message: 'boom' } as Parameters<typeof toError>[0]);
    assert.equal(other.constructor, Error);
    assert.equal(other.message, 'inference process error: boom');
  });
});
