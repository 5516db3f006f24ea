import { ApiKeyEntity } from '../auth/entities/api-key.entity';
import { AuditEventEntity } from '../auth/entities/audit-event.entity';
import { RefreshTokenEntity } from '../auth/entities/refresh-token.entity';
import { UserEntity } from '../auth/entities/user.entity';
import { JobResultEntity } from '../jobs/entities/job-result.entity';
import { JobEntity } from '../jobs/entities/job.entity';
import { ModelVersionEntity } from '../models/entities/model-version.entity';
import { ModelEntity } from '../models/entities/model.entity';
import { PredictionEntity } from '../predictions/entities/prediction.entity';

export const ENTITIES = [
  ModelEntity,
  ModelVersionEntity,
  PredictionEntity,
  JobEntity,
  JobResultEntity,
  ApiKeyEntity,
  UserEntity,
  RefreshTokenEntity,
  AuditEventEntity,
];
