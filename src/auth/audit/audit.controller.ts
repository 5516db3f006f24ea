import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/api-errors.decorator';
import { Access } from '../access.decorator';
import { AuditEventPageDto, ListAuditEventsQueryDto } from './audit-event.dto';
import { AuditEventsService } from './audit-events.service';

@ApiTags('auth')
@Access()
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly events: AuditEventsService) {}

  @Get()
  @ApiOperation({
    operationId: 'listAuditEvents',
    summary: 'The audit trail (admin): every write to the registry, keys and users, newest first',
    description:
      'Each event was recorded in the same transaction as its write: a write that failed or was refused has none. ' +
      'Filters match exactly.',
  })
  @ApiOkResponse({ type: AuditEventPageDto })
  @ApiErrors(400)
  list(@Query() query: ListAuditEventsQueryDto): Promise<AuditEventPageDto> {
    return this.events.list(query);
  }
}
