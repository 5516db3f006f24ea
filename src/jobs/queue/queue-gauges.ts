import { Injectable, OnModuleInit } from '@nestjs/common';
import { MetricsService } from '../../metrics/metrics.service';
import { JobQueue } from './job-queue';

/** Queue depth and running jobs as /metrics gauges, read from the queue at each scrape. */
@Injectable()
export class QueueGauges implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly queue: JobQueue,
  ) {}

  onModuleInit(): void {
    this.metrics.registerGauges(async () => {
      const stats = await this.queue.stats();
      return [
        { name: 'jobs_waiting', help: 'Jobs waiting to start', value: stats.waiting },
        { name: 'jobs_delayed', help: 'Jobs waiting for a retry', value: stats.delayed },
        { name: 'jobs_active', help: 'Jobs being run (by any worker with Bull)', value: stats.active },
        { name: 'jobs_running_here', help: 'Job attempts running in this process', value: stats.runningHere },
        {
          name: 'job_instances_per_second',
          help: 'Instances per second run by this process over the last minute',
          value: stats.instancesPerSecond,
        },
      ];
    });
  }
}
