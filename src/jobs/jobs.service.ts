import { Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '../common/errors';
import { Page, PageQueryDto, pageOf } from '../common/pagination';
import type { JobDto, JobResultDto, ListJobsQueryDto } from './dto/job.dto';
import type { JobEntity } from './entities/job.entity';
import { toJobDto, toJobResultDto } from './job.mapper';
import { JobStore } from './job-store';
import { JobQueue } from './queue/job-queue';

/** Reading, cancelling and deleting jobs (submitting is JobSubmissionService). */
@Injectable()
export class JobsService {
  constructor(
    private readonly store: JobStore,
    private readonly queue: JobQueue,
  ) {}

  async list(query: ListJobsQueryDto): Promise<Page<JobDto>> {
    const [rows, total] = await this.store.list({ status: query.status, model: query.model }, query.skip, query.limit);
    return pageOf(rows.map(toJobDto), total, query);
  }

  async get(id: string): Promise<JobDto> {
    return toJobDto(await this.findEntity(id));
  }

  async results(id: string, query: PageQueryDto): Promise<Page<JobResultDto>> {
    await this.findEntity(id);
    const [rows, total] = await this.store.results(id, query.skip, query.limit);
    return pageOf(rows.map(toJobResultDto), total, query);
  }

  /** A queued job is cancelled at once (and never runs); a running one stops at its next chunk. */
  async cancel(id: string): Promise<JobDto> {
    const outcome = await this.store.requestCancel(id);
    if (outcome === 'missing') throw this.notFound(id);
    const job = await this.findEntity(id);
    if (outcome === 'finished') {
      throw new ConflictError(`Job ${id} is already ${job.status}; only a queued or running job can be cancelled`);
    }
    if (outcome === 'cancelled') await this.queue.remove(id);
    return toJobDto(job);
  }

  /** Removes the job, its instances and results; a running job's worker stops at its next chunk. */
  async delete(id: string): Promise<void> {
    if (!(await this.store.delete(id))) throw this.notFound(id);
    await this.queue.remove(id);
  }

  private async findEntity(id: string): Promise<JobEntity> {
    const job = await this.store.find(id);
    if (!job) throw this.notFound(id);
    return job;
  }

  private notFound(id: string): NotFoundError {
    return new NotFoundError(`Job ${id} does not exist`);
  }
}
