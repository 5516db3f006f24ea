import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Test } from '@nestjs/testing';
import { provideFake } from '../../test/support/nest-fakes';
import { callNames, type CallLog } from '../../test/support/strict-fake';
import type { Caller } from '../auth/caller';
import { CachedPrediction, PredictionCacheService } from '../cache/prediction-cache.service';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { type DecodedRequest, InferenceService, type RunOutcome } from '../inference/inference.service';
import type { TensorSpec } from '../inference/tensor-spec';
import { BATCHING_DEFAULTS } from '../models/batching-settings';
import type { ServableVersion } from '../models/servable-version';
import { ServableVersionsService } from '../models/servable-versions.service';
import type { PredictionContext } from './prediction-context';
import { PredictionsService } from './predictions.service';
import { ShadowService } from './shadow.service';

// ---- The registry's and the cache's vocabulary, in one place ----

const SIGNATURE: TensorSpec[] = [{ name: 'x', dtype: 'float32', shape: [-1, 2] }];
const OUTPUTS: TensorSpec[] = [
  { name: 'y', dtype: 'float32', shape: [-1, 1] },
  { name: 'z', dtype: 'float32', shape: [-1, 1] },
];
const SHA = 'sha-v3';

/** What the registry resolves `iris` to: version 3, with the model's cache and batching settings. */
function servable(over: { cacheEnabled?: boolean; logPayloads?: boolean } = {}): ServableVersion {
  return {
    modelId: 'model-1',
    versionId: 'version-3',
    name: 'iris',
    version: 3,
    sha256: SHA,
    storageKey: 'key-v3',
    sizeBytes: 123,
    inputs: SIGNATURE,
    outputs: OUTPUTS,
    // The model's own settings, already resolved against the defaults by the registry.
    cache: { enabled: over.cacheEnabled ?? true, ttlSeconds: 600 },
    batching: { ...BATCHING_DEFAULTS, enabled: false, preferredBatchSizes: [...BATCHING_DEFAULTS.preferredBatchSizes] },
    logPayloads: over.logPayloads ?? false,
    traffic: null,
  };
}

function entryFor(over: Partial<CachedPrediction> = {}): CachedPrediction {
  return {
    model: 'iris',
    requestedVersion: null,
    epoch: 'epoch-1',
    sha256: SHA,
    version: 3,
    outputs: '{"y":[[1]]}',
    inputHash: 'hash',
    expiresAt: Date.now() + 60_000,
    ...over,
  };
}

// ---- The harness ----

const OUTCOME: RunOutcome = { outputs: ['{"y":[[0.5]]}'], validateMs: 1, inferenceMs: 2, encodeMs: 3 };

interface Setup {
  /** The model's generation (null: none yet; undefined: the store is down). */
  epoch?: string | null;
  resolved?: ServableVersion | Error;
  canonical?: CachedPrediction;
  raw?: CachedPrediction;
  models?: readonly string[] | null;
}

async function harness(setup: Setup = {}) {
  const log: CallLog = [];
  const epoch = 'epoch' in setup ? setup.epoch : 'epoch-1';
  const resolved = setup.resolved ?? servable();
  const moduleRef = await Test.createTestingModule({
    providers: [
      PredictionsService,
      provideFake(
        AppConfig,
        { inference: { timeoutMs: 30_000, maxTensorElements: 1_000 } as AppConfig['inference'] },
        log,
      ),
      provideFake(
        ServableVersionsService,
        {
          resolve: () => (resolved instanceof Error ? Promise.reject(resolved) : Promise.resolve(resolved)),
        },
        log,
      ),
      provideFake(
        InferenceService,
        {
          predict: () => Promise.resolve(OUTCOME),
          decode: (body: Uint8Array) => {
            const parsed = JSON.parse(Buffer.from(body).toString()) as { model: string };
            return Promise.resolve({
              model: parsed.model,
              inputs: { x: { dims: [1, 2], data: new Float64Array([1, 2]) } },
              inputHash: 'decoded-hash',
              parseMs: 4,
              readMs: 5,
            } as DecodedRequest);
          },
        },
        log,
      ),
      provideFake(
        PredictionCacheService,
        {
          epoch: () => Promise.resolve(epoch),
          ensureEpoch: () => Promise.resolve('epoch-new'),
          canonicalKey: (model: string, e: string, sha: string, outputs: string[] | undefined, hash: string) =>
            `can:${model}:${e}:${sha}:${outputs?.join(',') ?? '*'}:${hash}`,
          getCanonical: () => Promise.resolve(setup.canonical),
          getRaw: () => Promise.resolve(setup.raw),
          countHit: () => undefined,
          countMiss: () => undefined,
          countBypass: () => undefined,
        },
        log,
      ),
      // No shadow in these policies (shadow.service.spec.ts and traffic-shadow.e2e.spec.ts cover it); kept out of the call log.
      provideFake(ShadowService, { pick: () => undefined }),
    ],
  }).compile();
  const caller = { principal: { models: setup.models ?? null }, requestId: 'r' } as Caller;
  return { service: moduleRef.get(PredictionsService), log, caller };
}

function context(over: Partial<PredictionContext> = {}): PredictionContext {
  return { receivedAt: process.hrtime.bigint(), bypassCache: false, ...over };
}

function body(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

const REQUEST = { model: 'iris', inputs: { x: [[1, 2]] } };

/** The calls made, without the configuration reads. */
function calls(log: CallLog): string[] {
  return callNames(log).filter((name) => !name.startsWith('AppConfig.'));
}

describe('PredictionsService.predict', () => {
  it('a miss: resolves, looks up the cache, runs the model, and hands back the entry to store under both keys', async () => {
    const { service, log, caller } = await harness();
    const ctx = context({ rawHash: 'rawhash' });
    const outcome = await service.predict(body(REQUEST), ctx, caller);
    assert.deepEqual(calls(log), [
      'PredictionCacheService.epoch',
      'ServableVersionsService.resolve',
      'PredictionCacheService.canonicalKey',
      'PredictionCacheService.getCanonical',
      'PredictionCacheService.countMiss',
      'InferenceService.predict',
    ]);
    const resolve = log.find((c) => c.call === 'ServableVersionsService.resolve');
    assert.deepEqual(resolve?.args, ['iris', undefined, 'epoch-1', undefined]);
    const [model, inputs, outputs] = log.find((c) => c.call === 'InferenceService.predict')?.args as [
      ServableVersion,
      unknown,
      unknown,
    ];
    const { name, sha256, storageKey, sizeBytes, inputs: signature, outputs: outputSpecs, batching } = model;
    assert.deepEqual(
      { name, sha256, storageKey, sizeBytes, inputs: signature, outputs: outputSpecs, batching },
      {
        name: 'iris',
        sha256: SHA,
        storageKey: 'key-v3',
        sizeBytes: 123,
        inputs: SIGNATURE,
        outputs: OUTPUTS,
        batching: {
          ...BATCHING_DEFAULTS,
          enabled: false,
          preferredBatchSizes: [...BATCHING_DEFAULTS.preferredBatchSizes],
        },
      },
    );
    assert.deepEqual(inputs, { x: { dims: [1, 2], data: new Float64Array([1, 2]) } });
    assert.equal(outputs, undefined);
    assert.equal(outcome.cache, 'MISS');
    assert.equal(outcome.outputsJson, OUTCOME.outputs?.[0]);
    assert.equal(outcome.version, 3);
    assert.equal(outcome.inferenceMs, 2);
    const key = `can:iris:epoch-1:${SHA}:*:${outcome.inputHash}`;
    assert.deepEqual(outcome.write?.keys, [key, 'raw:rawhash']);
    assert.deepEqual(
      { ...outcome.write?.entry, expiresAt: 0 },
      {
        model: 'iris',
        requestedVersion: null,
        epoch: 'epoch-1',
        sha256: SHA,
        version: 3,
        outputs: OUTCOME.outputs?.[0],
        inputHash: outcome.inputHash,
        expiresAt: 0,
      },
    );
    assert.ok(
      Math.abs((outcome.write?.entry.expiresAt as number) - (Date.now() + 600_000)) < 5_000,
      'the model’s own TTL',
    );
    assert.deepEqual(
      { model: ctx.model, servedModel: ctx.servedModel, version: ctx.version },
      { model: 'iris', servedModel: 'iris', version: 3 },
    );
    for (const stage of ['receive', 'parse', 'resolve', 'validate', 'queue', 'inference', 'encode'] as const) {
      assert.ok((outcome.stages[stage] ?? -1) >= 0, stage);
    }
  });

  it('a hit: answers from the entry without running the model, and refreshes the raw alias', async () => {
    const cached = entryFor({ outputs: '{"y":[[9]]}', inputHash: 'h1' });
    const { service, log, caller } = await harness({ canonical: cached });
    const outcome = await service.predict(body(REQUEST), context({ rawHash: 'rh' }), caller);
    assert.equal(outcome.cache, 'HIT');
    assert.equal(outcome.outputsJson, '{"y":[[9]]}');
    assert.equal(outcome.inferenceMs, 0);
    assert.deepEqual(outcome.write, { keys: ['raw:rh'], entry: cached });
    assert.ok(calls(log).includes('PredictionCacheService.countHit'));
    assert.ok(!calls(log).includes('InferenceService.predict'));
  });

  it('an entry of another version of the model (another sha256) is a miss', async () => {
    const { service, log, caller } = await harness({ canonical: entryFor({ sha256: 'sha-v2' }) });
    const outcome = await service.predict(body(REQUEST), context(), caller);
    assert.equal(outcome.cache, 'MISS');
    assert.deepEqual(outcome.write?.keys.length, 1, 'no raw alias without a raw hash');
    assert.ok(calls(log).includes('InferenceService.predict'));
  });

  it('Cache-Control: no-cache runs the model without reading or writing the cache', async () => {
    const { service, log, caller } = await harness({ canonical: entryFor() });
    const outcome = await service.predict(body(REQUEST), context({ bypassCache: true, rawHash: 'rh' }), caller);
    assert.equal(outcome.cache, 'BYPASS');
    assert.equal(outcome.write, undefined);
    assert.ok(calls(log).includes('PredictionCacheService.countBypass'));
    assert.ok(!calls(log).includes('PredictionCacheService.getCanonical'));
  });

  it('a model with its cache off, or a cache store that is down, runs without the cache', async () => {
    for (const setup of [{ resolved: servable({ cacheEnabled: false }) }, { epoch: undefined }] as Setup[]) {
      const { service, log, caller } = await harness({ ...setup, canonical: entryFor() });
      const outcome = await service.predict(body(REQUEST), context(), caller);
      assert.equal(outcome.cache, 'MISS');
      assert.equal(outcome.write, undefined);
      assert.ok(!calls(log).includes('PredictionCacheService.getCanonical'));
    }
  });

  it('a request declaring a dtype other than the signature’s skips the cache (the run refuses it)', async () => {
    const { service, log, caller } = await harness({ canonical: entryFor() });
    const declared = { model: 'iris', inputs: { x: { shape: [1, 2], data: [1, 2], dtype: 'float64' } } };
    await service.predict(body(declared), context(), caller);
    assert.ok(!calls(log).includes('PredictionCacheService.getCanonical'));
    assert.ok(calls(log).includes('InferenceService.predict'));
  });

  it('the first prediction of a model creates its cache generation, after the name resolved', async () => {
    const { service, log, caller } = await harness({ epoch: null });
    const outcome = await service.predict(body(REQUEST), context(), caller);
    assert.deepEqual(calls(log).slice(0, 3), [
      'PredictionCacheService.epoch',
      'ServableVersionsService.resolve',
      'PredictionCacheService.ensureEpoch',
    ]);
    assert.equal(outcome.write?.entry.epoch, 'epoch-new');
  });

  it('an unknown model gets its 404 and no cache generation', async () => {
    const { service, log, caller } = await harness({
      epoch: null,
      resolved: new NotFoundError("Model 'iris' does not exist"),
    });
    await assert.rejects(service.predict(body(REQUEST), context(), caller), NotFoundError);
    assert.ok(!calls(log).includes('PredictionCacheService.ensureEpoch'));
  });

  it('a credential scoped to other models gets 403 before anything is resolved or looked up', async () => {
    const { service, log, caller } = await harness({ models: ['other-*'] });
    const ctx = context();
    await assert.rejects(service.predict(body(REQUEST), ctx, caller), ForbiddenError);
    assert.deepEqual(calls(log), []);
    assert.equal(ctx.model, 'iris', 'the log still names the model asked for');
    assert.equal(ctx.servedModel, undefined, 'but no metric label');
  });

  it('outputs the model does not have: 400 naming each, before any cache generation or run', async () => {
    const { service, log, caller } = await harness({ epoch: null });
    const error = await service.predict(body({ ...REQUEST, outputs: ['y', 'nope'] }), context(), caller).then(
      () => assert.fail('accepted an unknown output'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof InvalidInputError);
    assert.deepEqual(error.details, [{ field: 'outputs.nope', problem: 'is not an output of this model' }]);
    assert.match(error.message, /its outputs are y, z/);
    assert.ok(!calls(log).includes('PredictionCacheService.ensureEpoch'));
  });

  it('asks for the outputs it names, and keys the cache by them', async () => {
    const { service, log, caller } = await harness();
    const outcome = await service.predict(body({ ...REQUEST, outputs: ['z'] }), context(), caller);
    assert.deepEqual(log.find((c) => c.call === 'InferenceService.predict')?.args[2], ['z']);
    assert.match(outcome.write?.keys[0] ?? '', /^can:iris:epoch-1:sha-v3:z:/);
  });

  it('a body over 16 KiB is read in an inference process, and its head kept for the log', async () => {
    const { service, log, caller } = await harness();
    const large = body({ ...REQUEST, padding: 'p'.repeat(20_000) });
    const ctx = context();
    const outcome = await service.predict(large, ctx, caller);
    assert.equal(calls(log)[0], 'InferenceService.decode');
    assert.equal(outcome.inputHash, 'decoded-hash');
    assert.equal(ctx.loggedBody?.byteLength, large.byteLength);
    assert.equal(outcome.stages.parse, 4);
  });

  it('a malformed small body is refused with 400 before anything else', async () => {
    const { service, log, caller } = await harness();
    await assert.rejects(service.predict(Buffer.from('{"model":'), context(), caller), InvalidInputError);
    assert.deepEqual(calls(log), []);
  });
});

describe('PredictionsService.fromRawCache', () => {
  it('answers a byte-identical repeat from its raw entry while its generation and version are current', async () => {
    const entry = entryFor({ requestedVersion: 3 });
    const { service, log, caller } = await harness({ raw: entry });
    const ctx = context({ rawHash: 'rh' });
    const outcome = await service.fromRawCache(ctx, caller);
    assert.equal(outcome?.cache, 'HIT');
    assert.equal(outcome?.outputsJson, entry.outputs);
    assert.deepEqual(log.find((c) => c.call === 'ServableVersionsService.resolve')?.args, [
      'iris',
      3,
      'epoch-1',
      undefined,
    ]);
    assert.deepEqual(
      { model: ctx.model, servedModel: ctx.servedModel, version: ctx.version },
      { model: 'iris', servedModel: 'iris', version: 3 },
    );
    assert.ok(calls(log).includes('PredictionCacheService.countHit'));
    assert.ok((outcome?.stages.cache ?? -1) >= 0);
  });

  const misses: [string, Setup, Partial<PredictionContext>][] = [
    ['there is no raw hash (the cache was bypassed)', { raw: entryFor() }, { rawHash: undefined }],
    ['there is no entry', {}, {}],
    ['the entry’s model is outside the credential’s scope', { raw: entryFor(), models: ['other'] }, {}],
    ['the model has no generation any more', { raw: entryFor(), epoch: null }, {}],
    ['the generation changed since', { raw: entryFor({ epoch: 'epoch-0' }) }, {}],
    ['the model is gone', { raw: entryFor(), resolved: new NotFoundError('gone') }, {}],
    ['the model’s cache is off now', { raw: entryFor(), resolved: servable({ cacheEnabled: false }) }, {}],
    ['the name resolves to another version now', { raw: entryFor({ sha256: 'sha-v2' }) }, {}],
  ];
  for (const [why, setup, ctx] of misses) {
    it(`leaves the request to the full path when ${why}`, async () => {
      const { service, log, caller } = await harness(setup);
      assert.equal(await service.fromRawCache(context({ rawHash: 'rh', ...ctx }), caller), undefined);
      assert.ok(!calls(log).includes('PredictionCacheService.countHit'));
    });
  }
});
