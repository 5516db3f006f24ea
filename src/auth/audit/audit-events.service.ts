import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Page, pageOf } from '../../common/pagination';
import { AuditEventEntity } from '../entities/audit-event.entity';
import { AuditEventDto, ListAuditEventsQueryDto } from './audit-event.dto';

/** The read side of the audit trail (AuditService writes it, inside each write's transaction). */
@Injectable()
export class AuditEventsService {
  constructor(@InjectRepository(AuditEventEntity) private readonly events: Repository<AuditEventEntity>) {}

  /** Newest first, filtered by exact actor, action and target in SQL. */
  async list(query: ListAuditEventsQueryDto): Promise<Page<AuditEventDto>> {
    const [rows, total] = await this.events.findAndCount({
      where: {
        ...(query.actor !== undefined ? { actor: query.actor } : {}),
        ...(query.action !== undefined ? { action: query.action } : {}),
        ...(query.target !== undefined ? { target: query.target } : {}),
      },
      order: { at: 'DESC', id: 'DESC' },
      skip: query.skip,
      take: query.limit,
    });
    return pageOf(rows.map(toAuditEventDto), total, query);
  }
}

function toAuditEventDto(row: AuditEventEntity): AuditEventDto {
  return {
    id: row.id,
    at: row.at.toISOString(),
    actor: row.actor,
    actorName: row.actorName,
    action: row.action,
    target: row.target,
    requestId: row.requestId,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
  };
}
