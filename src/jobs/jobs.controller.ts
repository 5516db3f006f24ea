import { Access } from '../auth/access.decorator';
import { Caller, CurrentCaller } from '../auth/caller';
import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrors } from '../common/api-errors.decorator';
import { PageQueryDto } from '../common/pagination';
import { OutputTensorDto, TensorInputDto } from '../predictions/dto/prediction.dto';
import {
  CreateJobDto,
  JobDto,
  JobInstanceDto,
  JobPageDto,
  JobResultPageDto,
  ListJobsQueryDto,
  SubmitJobQueryDto,
} from './dto/job.dto';
import { JobSubmissionService, NDJSON } from './job-submission.service';
import { JobsService } from './jobs.service';
import { JobIdPipe } from './pipes';

const JOB_VISIBILITY =
  'A predictor credential sees only the jobs it submitted; a credential scoped to model patterns only jobs of ' +
  'those models. Any other job answers 404 on every job route, as if it did not exist.';

@ApiTags('jobs')
@ApiExtraModels(CreateJobDto, JobInstanceDto, TensorInputDto, OutputTensorDto)
@Controller('api/v1/jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly submissions: JobSubmissionService,
  ) {}

  @Post()
  @Access('maintainer', 'predictor')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'createJob',
    summary: 'Queue a batch inference job',
    description:
      'JSON: {model, version?, instances: [{inputs}]}. NDJSON (application/x-ndjson): one {"inputs": {...}} per ' +
      'line, streamed, with ?model=&version= in the query. Every instance is checked against the signature ' +
      'before anything is stored or queued: the first bad one answers 400 naming its index. 413 past ' +
      'JOBS_MAX_SUBMISSION_BYTES (as sent), JOBS_MAX_DECODED_BYTES (as stored), JOBS_MAX_INSTANCE_ELEMENTS (one ' +
      'instance) or JOBS_MAX_INSTANCES; 507 when the data folder is too full. The Location header points at the job. ' +
      'A key scoped to model-name patterns gets 403 for any other model, before anything is stored.',
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: { $ref: getSchemaPath(CreateJobDto) } },
        [NDJSON]: {
          schema: { type: 'string', description: 'One JSON object {"inputs": {...}} per line' },
          example: '{"inputs": {"x": [[5.1, 3.5, 1.4, 0.2]]}}\n{"inputs": {"x": [[6.2, 2.9, 4.3, 1.3]]}}\n',
        },
      },
    },
  })
  @ApiAcceptedResponse({ type: JobDto, description: 'Queued; Location: /api/v1/jobs/{id}' })
  @ApiErrors(400, 404, 409, 413, 415, 503, 507)
  async create(
    @Req() req: Request,
    @Query() query: SubmitJobQueryDto,
    @Res({ passthrough: true }) res: Response,
    @CurrentCaller() caller: Caller,
  ): Promise<JobDto> {
    const job = await this.submissions.submit(req, query, caller);
    res.setHeader('Location', `/api/v1/jobs/${job.id}`);
    return job;
  }

  @Get()
  @Access('maintainer', 'predictor', 'viewer')
  @ApiOperation({
    operationId: 'listJobs',
    summary: 'List jobs, newest first (filter by status and model)',
    description: JOB_VISIBILITY,
  })
  @ApiOkResponse({ type: JobPageDto })
  @ApiErrors(400)
  list(@Query() query: ListJobsQueryDto, @CurrentCaller() caller: Caller): Promise<JobPageDto> {
    return this.jobs.list(query, caller);
  }

  @Get(':id')
  @Access('maintainer', 'predictor', 'viewer')
  @ApiOperation({
    operationId: 'getJob',
    summary: 'Read a job: status, progress, attempts, error',
    description: JOB_VISIBILITY,
  })
  @ApiOkResponse({ type: JobDto })
  @ApiErrors(400, 404)
  get(@Param('id', JobIdPipe) id: string, @CurrentCaller() caller: Caller): Promise<JobDto> {
    return this.jobs.get(id, caller);
  }

  @Get(':id/results')
  @Access('maintainer', 'predictor')
  @ApiOperation({
    operationId: 'listJobResults',
    summary: 'Page through the results so far, by instance index: {index, outputs} or {index, error}',
  })
  @ApiOkResponse({ type: JobResultPageDto })
  @ApiErrors(400, 404)
  results(
    @Param('id', JobIdPipe) id: string,
    @Query() query: PageQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<JobResultPageDto> {
    return this.jobs.results(id, query, caller);
  }

  @Post(':id/cancel')
  @Access('maintainer', 'predictor')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'cancelJob',
    summary: 'Cancel a job: a queued one never runs, a running one stops at its next chunk',
  })
  @ApiAcceptedResponse({ type: JobDto, description: 'Cancelled, or cancellation requested (status still running)' })
  @ApiErrors(400, 404, 409)
  cancel(@Param('id', JobIdPipe) id: string, @CurrentCaller() caller: Caller): Promise<JobDto> {
    return this.jobs.cancel(id, caller);
  }

  @Delete(':id')
  @Access('maintainer', 'predictor')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteJob', summary: 'Delete a job and its results (a running job is stopped)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 404)
  async delete(@Param('id', JobIdPipe) id: string, @CurrentCaller() caller: Caller): Promise<void> {
    await this.jobs.delete(id, caller);
  }
}
