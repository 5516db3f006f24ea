import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config';
import { loadEnvironment } from './environment';

@Global()
@Module({})
export class ConfigModule {
  /** Provide an explicit config (tests), or validate process.env once. */
  static forRoot(config?: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: AppConfig, useValue: config ?? new AppConfig(loadEnvironment()) }],
      exports: [AppConfig],
    };
  }
}
