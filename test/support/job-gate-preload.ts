/**
 * Preloaded (`node --require`) into service processes that spawnService starts with a job gate:
 * replaces the no-op JobHooks with the gate's hook and records when the job runner begins to
 * stop, so a test can release a held attempt exactly after SIGTERM reached it. Test-only.
 */
import 'reflect-metadata';
import { JobHooks } from '../../src/jobs/job-hooks';
import { JobRunnerService } from '../../src/jobs/job-runner.service';
import { gateHook, JOB_GATE_ENV, noteStop } from './job-gate';

const dir = process.env[JOB_GATE_ENV];
if (dir) {
  JobHooks.prototype.beforeChunk = gateHook(dir);
  const stop = JobRunnerService.prototype.stop;
  JobRunnerService.prototype.stop = function (this: JobRunnerService): Promise<void> {
    noteStop(dir);
    return stop.call(this);
  };
}
