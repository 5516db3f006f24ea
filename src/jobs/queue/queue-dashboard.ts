import { BullAdapter } from '@bull-board/api/bullAdapter';
import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Queue } from 'bull';
import { requireAdmin } from '../../auth/authenticate.middleware';
import { AppConfig } from '../../config/app-config';
import { INFERENCE_QUEUE } from './bull-settings';

export const DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board at /admin/queues, mounted only with QUEUE_DASHBOARD_ENABLED=true and Redis, for
 * admin credentials only. It is read-only: the jobs table, not Redis, decides a job's fate.
 */
@Injectable()
export class QueueDashboard implements OnModuleInit {
  private readonly logger = new Logger(QueueDashboard.name);

  constructor(
    @InjectQueue(INFERENCE_QUEUE) private readonly queue: Queue,
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(DASHBOARD_PATH);
    createBullBoard({ queues: [new BullAdapter(this.queue, { readOnlyMode: true })], serverAdapter });
    this.adapterHost.httpAdapter.use(DASHBOARD_PATH, requireAdmin(this.config.auth.enabled), serverAdapter.getRouter());
    this.logger.log({ msg: 'queue dashboard mounted (admin only)', path: DASHBOARD_PATH });
  }
}
