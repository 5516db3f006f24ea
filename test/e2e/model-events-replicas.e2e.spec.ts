import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InferenceService } from '../../src/inference/inference.service';
import { MODEL_CHANGED, ModelChangedEvent } from '../../src/models/model-events';
import { redisPrefix } from '../support/job-helpers';
import { mlpModel } from '../support/onnx-models';
import {
  createModel,
  Http,
  predictReply,
  twoReplicas,
  uniqueModelName,
  uploadVersion,
} from '../support/prediction-cache-helpers';
import { testEngines } from '../support/postgres';
import { dropRedisKeys, redisTestUrl } from '../support/redis-server';
import { authed, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * `model.changed` over Redis pub/sub between two replicas sharing PostgreSQL and Redis: a write on
 * A reaches B's listeners (B's engine unloads a deleted version's session, which the shared cache
 * generation alone never did), each replica applies each write exactly once, and nothing heard is
 * published again. The latency is measured in bench/replicas.ts, not asserted here.
 */

const V1 = mlpModel({ seed: 11 });
const V2 = mlpModel({ seed: 12 });
const X = [[0.5, -1.25, 3, 0.1]];
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Every `model.changed` a replica's listeners get, in order. */
function heardBy(t: TestApp): ModelChangedEvent[] {
  const events: ModelChangedEvent[] = [];
  t.app.get(EventEmitter2).on(MODEL_CHANGED, (event: ModelChangedEvent) => events.push(event));
  return events;
}

// Replicas need a database they can share: PostgreSQL (not run when TEST_POSTGRES=off, like every engine loop).
if (testEngines().includes('postgres'))
  describe('model.changed reaches every replica over Redis pub/sub', () => {
    const prefix = redisPrefix('model-events');
    let a: TestApp;
    let b: TestApp;
    let onA: ModelChangedEvent[];
    let onB: ModelChangedEvent[];
    const httpA: Http = () => authed(a);
    const httpB: Http = () => authed(b);

    before(async () => {
      [a, b] = await twoReplicas({ REDIS_URL: redisTestUrl(), JOBS_QUEUE_PREFIX: prefix, SHUTDOWN_GRACE_MS: '1000' });
      onA = heardBy(a);
      onB = heardBy(b);
    });
    after(async () => {
      await b?.close();
      await a?.close();
      await dropRedisKeys(prefix);
    });

    const of = (events: ModelChangedEvent[], model: string, kind: string) =>
      events.filter((e) => e.model === model && e.kind === kind);

    it('a version deleted on A is unloaded from B’s engine, and B answers 404 for it', async () => {
      const name = uniqueModelName('deleted-everywhere');
      await createModel(httpA, name);
      await uploadVersion(httpA, name, V1, 1);
      await uploadVersion(httpA, name, V2, 2);
      // B runs version 1: its session is loaded in B's engine.
      const served = await predictReply(httpB, { model: name, version: 1, inputs: { x: X } });
      assert.equal(served.status, 200, JSON.stringify(served.body));
      const engineB = b.app.get(InferenceService);
      assert.equal(engineB.isLoaded(sha256(V1)), true);

      await httpA().delete(`/api/v1/models/${name}/versions/1`).expect(204);
      await waitFor(() => !engineB.isLoaded(sha256(V1)), { what: "B's engine to release the deleted version" });
      const gone = await predictReply(httpB, { model: name, version: 1, inputs: { x: X } });
      assert.equal(gone.status, 404, JSON.stringify(gone.body));
      // Version 2 still serves on B.
      assert.equal((await predictReply(httpB, { model: name, inputs: { x: X } })).body.version, 2);
      const [heard] = of(onB, name, 'version-deleted');
      assert.deepEqual(heard, {
        model: name,
        kind: 'version-deleted',
        servingChanged: true,
        released: [sha256(V1)],
        fromReplica: true,
      });
    });

    it('a whole model deleted on A leaves none of its sessions on B', async () => {
      const name = uniqueModelName('model-deleted');
      await createModel(httpA, name);
      await uploadVersion(httpA, name, V1, 1);
      assert.equal((await predictReply(httpB, { model: name, inputs: { x: X } })).status, 200);
      const engineB = b.app.get(InferenceService);
      assert.equal(engineB.isLoaded(sha256(V1)), true);
      await httpA().delete(`/api/v1/models/${name}`).expect(204);
      await waitFor(() => !engineB.isLoaded(sha256(V1)), { what: "B's engine to release the deleted model" });
      assert.equal((await predictReply(httpB, { model: name, inputs: { x: X } })).status, 404);
    });

    it('each write is applied once on each replica: the writer does not hear itself, nothing is re-published', async () => {
      const name = uniqueModelName('once-each');
      await createModel(httpA, name);
      await uploadVersion(httpA, name, V1, 1);
      await uploadVersion(httpA, name, V2, 2);
      await httpA().put(`/api/v1/models/${name}/aliases/champion`).send({ version: 1 }).expect(200);
      assert.equal((await predictReply(httpB, { model: name, version: 'champion', inputs: { x: X } })).body.version, 1);

      await httpA().put(`/api/v1/models/${name}/aliases/champion`).send({ version: 2 }).expect(200);
      await waitFor(() => of(onB, name, 'alias-changed').length === 2, { what: 'B to hear both alias moves' });
      assert.equal((await predictReply(httpB, { model: name, version: 'champion', inputs: { x: X } })).body.version, 2);
      // A marker written on B and heard on A comes after anything B would have re-published.
      await httpB().patch(`/api/v1/models/${name}`).send({ description: 'marker' }).expect(200);
      await waitFor(() => of(onA, name, 'updated').length === 1, { what: "A to hear B's marker" });

      const moves = (events: ModelChangedEvent[]) => of(events, name, 'alias-changed').map((e) => e.fromReplica);
      assert.deepEqual(moves(onA), [undefined, undefined], 'A applied its own moves once each, heard none back');
      assert.deepEqual(moves(onB), [true, true], 'B heard each move once');
      assert.deepEqual(
        of(onB, name, 'updated').map((e) => e.fromReplica),
        [undefined],
        'B applied its own write once, heard none back',
      );
      assert.deepEqual(
        of(onA, name, 'updated').map((e) => e.fromReplica),
        [true],
      );
    });
  });
