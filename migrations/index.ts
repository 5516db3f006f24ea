import { CreateRegistry1764140000000 } from './1764140000000-CreateRegistry';
import { CacheAndPredictionLog1764145000000 } from './1764145000000-CacheAndPredictionLog';
import { CreateJobs1764150000000 } from './1764150000000-CreateJobs';
import { JobErrorKinds1764155000000 } from './1764155000000-JobErrorKinds';
import { AccessControl1764160000000 } from './1764160000000-AccessControl';
import { JobPayloadParts1764165000000 } from './1764165000000-JobPayloadParts';
import { ModelBatching1764170000000 } from './1764170000000-ModelBatching';
import { PredictionProtocol1764180000000 } from './1764180000000-PredictionProtocol';
import { VersionLifecycle1764190000000 } from './1764190000000-VersionLifecycle';
import { TrafficPolicy1764200000000 } from './1764200000000-TrafficPolicy';
import { ShadowPredictions1764210000000 } from './1764210000000-ShadowPredictions';
import { TrafficRollups1764220000000 } from './1764220000000-TrafficRollups';

/** Every migration in order. A new migration is added here as well as in its own file. */
export const ALL_MIGRATIONS = [
  CreateRegistry1764140000000,
  CacheAndPredictionLog1764145000000,
  CreateJobs1764150000000,
  JobErrorKinds1764155000000,
  AccessControl1764160000000,
  JobPayloadParts1764165000000,
  ModelBatching1764170000000,
  PredictionProtocol1764180000000,
  VersionLifecycle1764190000000,
  TrafficPolicy1764200000000,
  ShadowPredictions1764210000000,
  TrafficRollups1764220000000,
];
