import { ModelVersionEntity } from '../models/entities/model-version.entity';
import { ModelEntity } from '../models/entities/model.entity';

export const ENTITIES = [ModelEntity, ModelVersionEntity];
