/**
 * Data source for the TypeORM CLI (`npm run migration:*`). It reads the same validated
 * configuration as the service.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';

export default new DataSource({
  ...buildDataSourceOptions(loadConfig()),
  migrationsRun: false,
});
