import * as path from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError, InvalidInputError, PayloadTooLargeError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import type { TensorData } from '../inference/tensor';
import { decodeInputs } from '../inference/tensor-codec';
import type { TensorSpec } from '../models/tensor-spec';
import { ModelVersionsService } from '../models/model-versions.service';
import type { JobDto, SubmitJobQueryDto } from './dto/job.dto';
import { encodeInstance } from './instance-codec';
import { InstanceSpool } from './instance-spool';
import { toJobDto } from './job.mapper';
import { JobMetrics } from './job-metrics';
import { JobStore } from './job-store';
import { JobQueue } from './queue/job-queue';
import { fromArray, fromNdjson, JobTarget, parseJobBody, RawInstance, readLines } from './submission-source';

export const NDJSON = 'application/x-ndjson';

/** The JSON job body arrives as raw bytes (express.raw on /api/v1/jobs). */
function parseJson(body: unknown): unknown {
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new InvalidInputError('The request body must be a JSON object {model, version?, instances}');
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new InvalidInputError(`Malformed JSON body: ${(error as Error).message}`);
  }
}

/**
 * POST /api/v1/jobs: resolves the version, checks every instance against its signature (the
 * first bad one rejects the whole submission with 400, naming its index), and only then stores
 * the job and its instances in one transaction and queues it. Nothing is stored or queued for a
 * rejected submission; a queue that cannot take the job undoes the insert (503).
 */
@Injectable()
export class JobSubmissionService {
  private readonly logger = new Logger(JobSubmissionService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly versions: ModelVersionsService,
    private readonly store: JobStore,
    private readonly queue: JobQueue,
    private readonly metrics: JobMetrics,
  ) {}

  async submit(req: Request, query: SubmitJobQueryDto): Promise<JobDto> {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type === NDJSON) {
      if (!query.model)
        throw new InvalidInputError('An NDJSON upload names its model in the query: ?model=NAME[&version=N]', [
          { field: 'model', problem: 'is required in the query string for application/x-ndjson' },
        ]);
      const target = { model: query.model, version: query.version };
      try {
        return await this.accept(target, fromNdjson(readLines(req, this.config.maxJsonBodyBytes)));
      } finally {
        // An upload refused halfway is read to its end and dropped, so the client sees the answer.
        if (!req.readableEnded) req.resume();
      }
    }
    if (type !== 'application/json' && !type.endsWith('+json')) {
      throw new DomainError('unsupported_media', `Send the job as application/json or as ${NDJSON}`);
    }
    if (query.model !== undefined || query.version !== undefined) {
      throw new InvalidInputError('A JSON job names model and version in its body, not in the query string');
    }
    const { target, instances } = parseJobBody(parseJson(req.body));
    this.checkCount(instances.length);
    return this.accept(target, fromArray(instances));
  }

  private async accept(target: JobTarget, source: Iterable<RawInstance> | AsyncIterable<RawInstance>): Promise<JobDto> {
    const { model, entity } = await this.versions.resolveServable(target.model, target.version);
    const spool = new InstanceSpool(path.join(this.config.dataDir, 'jobs-staging'));
    try {
      for await (const instance of source) {
        this.checkCount(instance.index + 1);
        await spool.append(encodeInstance(this.decode(entity.inputs, instance)));
      }
      if (spool.count === 0)
        throw new InvalidInputError('The upload holds no instance; send one {"inputs": {...}} per line');
      const job = await this.store.create(
        {
          modelId: model.id,
          modelVersionId: entity.id,
          modelName: model.name,
          version: entity.version,
          total: spool.count,
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
        model: model.name,
        version: entity.version,
        total: job.total,
      });
      return toJobDto(job);
    } finally {
      await spool.dispose();
    }
  }

  /** The instance as typed tensors, or a 400 naming its index (and line) and every problem in it. */
  private decode(specs: TensorSpec[], instance: RawInstance): Record<string, TensorData> {
    try {
      return decodeInputs(specs, instance.inputs, this.config.maxTensorElements, `${instance.field}.inputs`);
    } catch (error) {
      if (!(error instanceof InvalidInputError) || !instance.where) throw error;
      throw new InvalidInputError(`${error.message}${instance.where}`, error.details);
    }
  }

  private checkCount(count: number): void {
    const max = this.config.jobs.maxInstances;
    if (count > max) {
      throw new PayloadTooLargeError(
        `A job holds at most ${max} instances (JOBS_MAX_INSTANCES); split the submission into several jobs`,
      );
    }
  }
}
