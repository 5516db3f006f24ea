import { BullAdapter } from '@bull-board/api/bullAdapter';
import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Queue } from 'bull';
import { INFERENCE_QUEUE } from './bull-settings';

export const DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board at /admin/queues, mounted only with QUEUE_DASHBOARD_ENABLED=true and Redis. It is
 * read-only: there is no authentication yet, and the jobs table, not Redis, decides a job's fate.
 */
@Injectable()
export class QueueDashboard implements OnModuleInit {
  private readonly logger = new Logger(QueueDashboard.name);

  constructor(
    @InjectQueue(INFERENCE_QUEUE) private readonly queue: Queue,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(DASHBOARD_PATH);
    createBullBoard({ queues: [new BullAdapter(this.queue, { readOnlyMode: true })], serverAdapter });
    this.adapterHost.httpAdapter.use(DASHBOARD_PATH, serverAdapter.getRouter());
    this.logger.warn({ msg: 'queue dashboard mounted without authentication', path: DASHBOARD_PATH });
  }
}
