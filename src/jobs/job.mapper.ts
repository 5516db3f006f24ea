import type { SafeError } from '../common/safe-error';
import type { OutputTensorDto } from '../predictions/dto/prediction.dto';
import type { JobDto, JobResultDto } from './dto/job.dto';
import type { JobResultEntity } from './entities/job-result.entity';
import { type JobEntity, STORING } from './entities/job.entity';

/**
 * A stored error as clients see it. Rows from before error kinds were stored may hold raw
 * internal text (ONNX Runtime's messages): that text is withheld.
 */
function shownError(row: Pick<JobEntity, 'error' | 'errorKind'>): SafeError | null {
  if (row.error === null) return null;
  if (row.errorKind === null) {
    return { kind: 'internal', message: 'Recorded by an earlier version of the service; the text is withheld' };
  }
  return { kind: row.errorKind, message: row.error };
}

/** The only place job rows become response bodies; leases, failures and version ids stay behind. */
export function toJobDto(job: JobEntity): JobDto {
  const { status } = job;
  // JobStore never answers a job still being stored.
  if (status === STORING) throw new Error(`job ${job.id} is still being stored`);
  const error = shownError(job);
  return {
    id: job.id,
    model: job.modelName,
    version: job.version,
    status,
    progress: {
      done: job.done,
      total: job.total,
      percent: job.total === 0 ? 100 : Math.floor((job.done / job.total) * 10_000) / 100,
    },
    attempts: job.attempts,
    error: error?.message ?? null,
    errorKind: error?.kind ?? null,
    actor: job.actor,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

export function toJobResultDto(row: JobResultEntity): JobResultDto {
  const error = shownError(row);
  if (error) return { index: row.index, error: error.message, errorKind: error.kind };
  return { index: row.index, outputs: JSON.parse(row.outputs ?? '{}') as Record<string, OutputTensorDto> };
}
