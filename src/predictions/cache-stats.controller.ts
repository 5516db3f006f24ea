import { Access } from '../auth/access.decorator';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { PredictionCacheService } from '../cache/prediction-cache.service';

export class CacheStatsDto {
  @ApiProperty({ enum: ['memory', 'redis'], enumName: 'CacheStoreKind' })
  store: 'memory' | 'redis';

  @ApiProperty({ description: 'False while the store is failing (predictions continue without it)' })
  healthy: boolean;

  @ApiProperty({ type: 'integer' })
  hits: number;

  @ApiProperty({ type: 'integer' })
  misses: number;

  @ApiProperty({ type: 'integer', description: 'Requests sent with Cache-Control: no-cache' })
  bypasses: number;

  @ApiProperty({ description: 'hits / (hits + misses)' })
  hitRatio: number;

  @ApiProperty({ type: 'integer', description: 'Store operations that failed or timed out' })
  errors: number;

  @ApiProperty({ type: 'integer', description: 'Responses not cached because of CACHE_MAX_ENTRY_BYTES' })
  skippedTooLarge: number;

  @ApiPropertyOptional({ type: 'integer', description: 'Entries held (in-memory store only)' })
  entries?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'Bytes held (in-memory store only)' })
  bytes?: number;
}

@ApiTags('predictions')
@Controller('api/v1/cache')
export class CacheStatsController {
  constructor(private readonly cache: PredictionCacheService) {}

  @Get('stats')
  @Access('maintainer', 'viewer')
  @ApiOperation({ operationId: 'getCacheStats', summary: 'Prediction cache counters of this process' })
  @ApiOkResponse({ type: CacheStatsDto })
  stats(): CacheStatsDto {
    return this.cache.stats();
  }
}
