import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { DomainError, InvalidInputError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { InferenceService } from '../inference/inference.service';
import type { ServableVersion } from '../models/servable-version';
import { ServableVersionsService } from '../models/servable-versions.service';
import { ensureFreeDisk } from '../storage/free-disk';
import type { JobDto, SubmitJobQueryDto } from './dto/job.dto';
import { EncodedInstances, EncodeLimits, storedInstances } from './instance-encoder';
import { InstanceSpool } from './instance-spool';
import { toJobDto } from './job.mapper';
import { JobMetrics } from './job-metrics';
import { JobStore } from './job-store';
import { readLineBatches, submissionTooLarge } from './ndjson-batches';
import { JobQueue } from './queue/job-queue';
import { JobTarget, tooManyInstances } from './submission-source';

export const NDJSON = 'application/x-ndjson';

/** NDJSON lines go to a worker in batches of about this many bytes or lines, whichever comes first. */
const NDJSON_BATCH_BYTES = 1024 * 1024;
const NDJSON_BATCH_LINES = 4096;

/**
 * POST /api/v1/jobs: resolves the version, checks every instance against its signature (the
 * first bad one rejects the whole submission with 400, naming its index), and only then stores
 * the job and its instances in one transaction and queues it. Nothing is stored or queued for a
 * rejected submission; a queue that cannot take the job undoes the insert (503).
 *
 * This thread only moves bytes: inference processes parse the body, check and encode the instances
 * (InferenceService.parseJob / encodeInstances), so no body of any size blocks other requests. A
 * whole JSON body is parsed twice there, for its envelope and then to encode it: no process keeps
 * a parsed body between two messages.
 * A submission past JOBS_MAX_SUBMISSION_BYTES as sent, JOBS_MAX_DECODED_BYTES as stored or
 * JOBS_MAX_INSTANCE_ELEMENTS in one instance is refused with 413, its spool removed.
 *
 * The job records the credential that submitted it (its actor). A credential scoped to model
 * patterns is refused (403) for another model as soon as the model is known, before the version
 * is resolved and before anything is spooled: at once for NDJSON (?model=), after the worker's
 * parse for JSON.
 */
@Injectable()
export class JobSubmissionService {
  private readonly logger = new Logger(JobSubmissionService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly versions: ServableVersionsService,
    private readonly inference: InferenceService,
    private readonly store: JobStore,
    private readonly queue: JobQueue,
    private readonly metrics: JobMetrics,
  ) {}

  private get stagingDir(): string {
    return path.join(this.config.storage.dataDir, 'jobs-staging');
  }

  async submit(req: Request, query: SubmitJobQueryDto, caller: Caller): Promise<JobDto> {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type === NDJSON) {
      try {
        if (!query.model)
          throw new InvalidInputError('An NDJSON upload names its model in the query: ?model=NAME[&version=N]', [
            { field: 'model', problem: 'is required in the query string for application/x-ndjson' },
          ]);
        assertModelInScope(caller, query.model);
        return await this.acceptNdjson(req, { model: query.model, version: query.version }, caller);
      } finally {
        // An upload refused halfway (or before its first byte) is read to its end and dropped,
        // so the client sees the answer.
        if (!req.readableEnded) req.resume();
      }
    }
    if (type !== 'application/json' && !type.endsWith('+json')) {
      throw new DomainError('unsupported_media', `Send the job as application/json or as ${NDJSON}`);
    }
    if (query.model !== undefined || query.version !== undefined) {
      throw new InvalidInputError('A JSON job names model and version in its body, not in the query string');
    }
    return this.acceptJson(req, caller);
  }

  /** The JSON body arrives as raw bytes (express.raw on /api/v1/jobs); a worker parses it. */
  private async acceptJson(req: Request, caller: Caller): Promise<JobDto> {
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new InvalidInputError('The request body must be a JSON object {model, version?, instances}');
    }
    await this.admit(req, body.length);
    const job = await this.inference.parseJob(body);
    assertModelInScope(caller, job.model);
    if (job.count > this.config.jobs.maxInstances) throw tooManyInstances(this.config.jobs.maxInstances);
    return this.accept(job, caller, async (version, spool) => {
      await this.spoolBatch(spool, await this.inference.encodeInstances({ body }, version.inputs, this.limits(0)));
    });
  }

  /**
   * Streams the upload to the workers in batches of whole lines: while a worker encodes one
   * batch, the next is read. A batch is sent once the one before it is spooled, so each knows
   * the index of its first instance.
   */
  private async acceptNdjson(req: Request, target: JobTarget, caller: Caller): Promise<JobDto> {
    await this.admit(req, 0);
    return this.accept(target, caller, async (version, spool) => {
      const batches = readLineBatches(req, {
        maxLineBytes: this.config.http.maxJsonBodyBytes,
        maxTotalBytes: this.config.jobs.maxSubmissionBytes,
        batchBytes: NDJSON_BATCH_BYTES,
        batchLines: NDJSON_BATCH_LINES,
      });
      let decodedBytes = 0;
      let nextLine = 1;
      let inFlight: Promise<EncodedInstances> | undefined;
      const settle = async () => {
        if (!inFlight) return;
        const batch = await inFlight;
        inFlight = undefined;
        decodedBytes += batch.bytes;
        await this.spoolBatch(spool, batch);
      };
      for await (const { bytes, lines } of batches) {
        await settle();
        inFlight = this.inference.encodeInstances(
          { lines: bytes, firstLine: nextLine, firstIndex: spool.count },
          version.inputs,
          this.limits(decodedBytes),
        );
        // Awaited by the next settle; should reading fail first, its outcome no longer matters.
        inFlight.catch(() => undefined);
        nextLine += lines;
      }
      await settle();
    });
  }

  /**
   * Refuses at once what the client announces as over JOBS_MAX_SUBMISSION_BYTES (413), and what
   * would leave the data folder under MIN_FREE_DISK_BYTES (507), before anything is spooled.
   */
  private async admit(req: Request, bodyBytes: number): Promise<void> {
    const max = this.config.jobs.maxSubmissionBytes;
    const announced = Number(req.headers['content-length'] ?? 0) || 0;
    if (announced > max || bodyBytes > max) throw submissionTooLarge(max);
    await mkdir(this.stagingDir, { recursive: true });
    await ensureFreeDisk(this.stagingDir, Math.max(announced, bodyBytes), this.config.storage.minFreeDiskBytes);
  }

  private limits(decodedBytes: number): EncodeLimits {
    const { maxInstances, maxInstanceElements, maxDecodedBytes } = this.config.jobs;
    return { maxInstances, maxInstanceElements, maxDecodedBytes, decodedBytesLeft: maxDecodedBytes - decodedBytes };
  }

  private async spoolBatch(spool: InstanceSpool, batch: EncodedInstances): Promise<void> {
    for (const instance of storedInstances(batch)) await spool.append(instance);
  }

  /** Resolves the target, lets `fill` spool every instance, then stores and queues the job. */
  private async accept(
    target: JobTarget,
    caller: Caller,
    fill: (version: ServableVersion, spool: InstanceSpool) => Promise<void>,
  ): Promise<JobDto> {
    const version = await this.versions.resolve(target.model, target.version);
    const spool = new InstanceSpool(this.stagingDir);
    try {
      await fill(version, spool);
      if (spool.count === 0)
        throw new InvalidInputError('The upload holds no instance; send one {"inputs": {...}} per line');
      const job = await this.store.create(
        {
          modelId: version.modelId,
          modelVersionId: version.versionId,
          modelName: version.name,
          version: version.version,
          total: spool.count,
          actor: caller.principal.actor,
        },
        spool.instances(),
      );
      try {
        await this.queue.enqueue(job.id);
      } catch (error) {
        await this.store.delete(job.id);
        throw error;
      }
      this.metrics.jobEvent('submitted');
      this.logger.log({
        msg: 'job queued',
        jobId: job.id,
        model: version.name,
        version: version.version,
        total: job.total,
      });
      return toJobDto(job);
    } finally {
      await spool.dispose();
    }
  }
}
