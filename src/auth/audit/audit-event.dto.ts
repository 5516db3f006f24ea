import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { PageDtoOf, PageQueryDto } from '../../common/pagination';

/** Filters of GET /api/v1/audit: exact matches, as long as the stored columns at most. */
export class ListAuditEventsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    description: 'Only events of this credential (exact): key:<id>, user:<id>, admin-key, auth-disabled',
    maxLength: 64,
    example: 'admin-key',
  })
  @IsOptional()
  @IsString()
  @Matches(/^\P{Cc}{1,64}$/u, { message: 'actor must be 1-64 printable characters' })
  actor?: string;

  @ApiPropertyOptional({ description: 'Only this action (exact)', maxLength: 64, example: 'model.update' })
  @IsOptional()
  @IsString()
  @Matches(/^\P{Cc}{1,64}$/u, { message: 'action must be 1-64 printable characters' })
  action?: string;

  @ApiPropertyOptional({ description: 'Only this target (exact)', maxLength: 256, example: 'model:iris' })
  @IsOptional()
  @IsString()
  @Matches(/^\P{Cc}{1,256}$/u, { message: 'target must be 1-256 printable characters' })
  target?: string;
}

export class AuditEventDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: String, format: 'date-time', description: 'When the write was made (milliseconds)' })
  at: string;

  @ApiProperty({
    description: 'The credential that made the write: key:<id>, user:<id>, admin-key, auth-disabled, bootstrap',
    example: 'key:0b6f3c1e-8d2a-4f5e-9c7b-1a2b3c4d5e6f',
  })
  actor: string;

  @ApiProperty({ description: "The key's name or the username at the time of the write", example: 'ci-deployer' })
  actorName: string;

  @ApiProperty({
    description:
      'What was done: model.create, model.update, model.delete, model.cache.clear, version.create, ' +
      'version.update, version.delete, alias.set, alias.delete, key.create, key.revoke, user.*',
    example: 'version.create',
  })
  action: string;

  @ApiProperty({ description: 'What it was done to: model:<name>, version:<name>/<n>, key:<id>, user:<name>' })
  target: string;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'The X-Request-Id of the request that made the write (matches the server log)',
  })
  requestId: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      'Safe facts about the change (changed field names, new settings, sha256 and size of an uploaded version); ' +
      'never a secret, a model file or a prediction payload',
    example: { fields: ['cache'], cache: { enabled: true } },
  })
  details: Record<string, unknown> | null;
}

export class AuditEventPageDto extends PageDtoOf(AuditEventDto, 'AuditEventPageDto') {}
