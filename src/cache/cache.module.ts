import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { CacheStore } from './cache-store';
import { MemoryCacheStore } from './memory-cache-store';
import { PredictionCacheService } from './prediction-cache.service';
import { RedisCacheStore } from './redis-cache-store';

@Module({
  providers: [
    {
      provide: CacheStore,
      inject: [AppConfig],
      useFactory: (config: AppConfig): CacheStore =>
        config.redis.url
          ? new RedisCacheStore(config.redis.url, config.cache.timeoutMs)
          : new MemoryCacheStore(config.cache.memoryMaxBytes),
    },
    PredictionCacheService,
  ],
  exports: [PredictionCacheService],
})
export class CacheModule {}
