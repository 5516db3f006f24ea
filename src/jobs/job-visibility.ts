import type { Caller } from '../auth/caller';
import { mayTouchModel } from '../auth/model-patterns';
import type { JobEntity } from './entities/job.entity';
import type { JobVisibility } from './job-store';

/**
 * The jobs a caller may see. A predictor owns its jobs: it sees only those its own credential
 * made. Other roles see everyone's. A credential scoped to model patterns sees only jobs of those
 * models. A job outside this answers 404, as if it did not exist.
 */
export function jobVisibility(caller: Caller): JobVisibility {
  const { principal } = caller;
  return { actor: principal.role === 'predictor' ? principal.actor : null, models: principal.models };
}

export function jobVisibleTo(job: JobEntity, visibility: JobVisibility): boolean {
  if (visibility.actor !== null && job.actor !== visibility.actor) return false;
  return mayTouchModel(visibility.models, job.modelName);
}
