import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BodyBudget } from './body-reader';

/**
 * The process's one in-flight request body budget (MAX_INFLIGHT_BODY_BYTES): the HTTP body
 * readers (app.factory.ts) and the gRPC transport (src/oip/grpc) draw on the same bytes.
 */
@Module({
  providers: [
    {
      provide: BodyBudget,
      useFactory: (config: AppConfig) => new BodyBudget(config.http.maxInflightBodyBytes),
      inject: [AppConfig],
    },
  ],
  exports: [BodyBudget],
})
export class BodyBudgetModule {}
