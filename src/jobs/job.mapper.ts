import type { OutputTensorDto } from '../predictions/dto/prediction.dto';
import type { JobDto, JobResultDto } from './dto/job.dto';
import type { JobResultEntity } from './entities/job-result.entity';
import type { JobEntity } from './entities/job.entity';

/** The only place job rows become response bodies; leases, failures and version ids stay behind. */
export function toJobDto(job: JobEntity): JobDto {
  return {
    id: job.id,
    model: job.modelName,
    version: job.version,
    status: job.status,
    progress: {
      done: job.done,
      total: job.total,
      percent: job.total === 0 ? 100 : Math.floor((job.done / job.total) * 10_000) / 100,
    },
    attempts: job.attempts,
    error: job.error,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

export function toJobResultDto(row: JobResultEntity): JobResultDto {
  if (row.error !== null) return { index: row.index, error: row.error };
  return { index: row.index, outputs: JSON.parse(row.outputs ?? '{}') as Record<string, OutputTensorDto> };
}
