/**
 * Data source for the TypeORM CLI (`npm run migration:*`). It reads the same validated
 * configuration as the service.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { loadEnvironment } from '../config/environment';
import { buildDataSourceOptions } from './data-source-options';

export default new DataSource({
  ...buildDataSourceOptions(new AppConfig(loadEnvironment())),
  migrationsRun: false,
});
