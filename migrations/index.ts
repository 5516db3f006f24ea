import { CreateRegistry1764140000000 } from './1764140000000-CreateRegistry';

/** Every migration in order. A new migration is added here as well as in its own file. */
export const ALL_MIGRATIONS = [CreateRegistry1764140000000];
