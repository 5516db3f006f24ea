import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';
import { SqliteCheckpointer } from './sqlite-checkpointer';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions(config),
        retryAttempts: 3,
        retryDelay: 1_000,
      }),
    }),
  ],
  providers: [SqliteCheckpointer],
  exports: [SqliteCheckpointer],
})
export class DatabaseModule {}
