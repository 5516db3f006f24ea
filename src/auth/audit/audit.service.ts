import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { Caller } from '../caller';
import { AuditEventEntity } from '../entities/audit-event.entity';

export interface AuditEntry {
  /** `model.create`, `version.delete`, `key.revoke`, ... */
  action: string;
  /** `model:iris`, `version:iris/3`, `key:<id>`, `user:alice`. */
  target: string;
  /** Safe details (changed field names and values that are not secrets). */
  details?: Record<string, unknown>;
}

const MAX_DETAILS_CHARS = 4096;

/** The audit trail: one row per write, inserted by the writer in the write's own transaction. */
@Injectable()
export class AuditService {
  /** Records `entry` through `manager`, the transaction of the write it describes. */
  async record(manager: EntityManager, caller: Caller, entry: AuditEntry): Promise<void> {
    const details = entry.details === undefined ? null : JSON.stringify(entry.details);
    await manager.insert(AuditEventEntity, {
      // Set here, in milliseconds: SQLite's column default (datetime('now')) keeps whole seconds only,
      // which would leave the order of a burst of writes to chance.
      at: new Date(),
      actor: caller.principal.actor,
      actorName: caller.principal.name.slice(0, 128),
      action: entry.action,
      target: entry.target.slice(0, 256),
      requestId: caller.requestId,
      details: details && details.length > MAX_DETAILS_CHARS ? JSON.stringify({ truncated: true }) : details,
    });
  }
}
