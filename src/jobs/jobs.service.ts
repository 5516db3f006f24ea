import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { ConflictError, NotFoundError } from '../common/errors';
import { Page, PageQueryDto, pageOf } from '../common/pagination';
import type { JobDto, JobResultDto, ListJobsQueryDto } from './dto/job.dto';
import type { JobEntity } from './entities/job.entity';
import { toJobDto, toJobResultDto } from './job.mapper';
import { JobStore } from './job-store';
import { jobVisibility, jobVisibleTo } from './job-visibility';
import { JobQueue } from './queue/job-queue';

/**
 * Reading, cancelling and deleting jobs (submitting is JobSubmissionService). Every operation is
 * limited to the jobs the caller may see (job-visibility.ts); another's job is a 404.
 */
@Injectable()
export class JobsService {
  constructor(
    private readonly store: JobStore,
    private readonly queue: JobQueue,
  ) {}

  async list(query: ListJobsQueryDto, caller: Caller): Promise<Page<JobDto>> {
    const [rows, total] = await this.store.list(
      { status: query.status, model: query.model },
      jobVisibility(caller),
      query.skip,
      query.limit,
    );
    return pageOf(rows.map(toJobDto), total, query);
  }

  async get(id: string, caller: Caller): Promise<JobDto> {
    return toJobDto(await this.findVisible(id, caller));
  }

  async results(id: string, query: PageQueryDto, caller: Caller): Promise<Page<JobResultDto>> {
    await this.findVisible(id, caller);
    const [rows, total] = await this.store.results(id, query.skip, query.limit);
    return pageOf(rows.map(toJobResultDto), total, query);
  }

  /** A queued job is cancelled at once (and never runs); a running one stops at its next chunk. */
  async cancel(id: string, caller: Caller): Promise<JobDto> {
    await this.findVisible(id, caller);
    const outcome = await this.store.requestCancel(id);
    if (outcome === 'missing') throw this.notFound(id);
    const job = await this.findVisible(id, caller);
    if (outcome === 'finished') {
      throw new ConflictError(`Job ${id} is already ${job.status}; only a queued or running job can be cancelled`);
    }
    if (outcome === 'cancelled') await this.queue.remove(id);
    return toJobDto(job);
  }

  /** Removes the job, its instances and results; a running job's worker stops at its next chunk. */
  async delete(id: string, caller: Caller): Promise<void> {
    await this.findVisible(id, caller);
    if (!(await this.store.delete(id))) throw this.notFound(id);
    await this.queue.remove(id);
  }

  /** The job, if it exists and the caller may see it; 404 otherwise (existence is not revealed). */
  private async findVisible(id: string, caller: Caller): Promise<JobEntity> {
    const job = await this.store.find(id);
    if (!job || !jobVisibleTo(job, jobVisibility(caller))) throw this.notFound(id);
    return job;
  }

  private notFound(id: string): NotFoundError {
    return new NotFoundError(`Job ${id} does not exist`);
  }
}
