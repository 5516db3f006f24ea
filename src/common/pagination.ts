import { Type } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_INT_PARAM, QueryInt } from './strict-int';

export const MAX_PAGE_SIZE = 100;

export class PageQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_INT_PARAM,
    default: 0,
    description: 'Items to skip (decimal digits only)',
  })
  @QueryInt(0)
  skip = 0;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: 20, description: 'Page size' })
  @QueryInt(1, MAX_PAGE_SIZE)
  limit = 20;
}

export interface Page<T> {
  items: T[];
  total: number;
  skip: number;
  limit: number;
}

export function pageOf<T>(items: T[], total: number, query: PageQueryDto): Page<T> {
  return { items, total, skip: query.skip, limit: query.limit };
}

/**
 * A named page schema for OpenAPI (`{items, total, skip, limit}`), one class per item type so
 * generated clients get a concrete type for each list.
 */
export function PageDtoOf<T>(item: Type<T>, name: string): Type<Page<T>> {
  class PageDto implements Page<T> {
    @ApiProperty({ type: [item] })
    items: T[];

    @ApiProperty({ type: 'integer' })
    total: number;

    @ApiProperty({ type: 'integer' })
    skip: number;

    @ApiProperty({ type: 'integer' })
    limit: number;
  }
  Object.defineProperty(PageDto, 'name', { value: name });
  return PageDto;
}
