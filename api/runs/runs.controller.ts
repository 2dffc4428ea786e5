/** Starting training runs and following them. */
import { Body, Controller, Get, Headers, Inject, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorResponse } from '../common/api-error';
import { Roles } from '../common/auth/roles.decorator';
import { ModelNamePipe, UuidPipe } from '../common/validation';
import { ListQuery, StartRunBody } from './runs.dto';
import { RunsService } from './runs.service';
import { RunStarted, RunSummary, RunView } from './runs.views';

@ApiTags('runs')
@Controller()
export class RunsController {
  constructor(@Inject(RunsService) private readonly runs: RunsService) {}

  @Post('v1/models/:name/runs')
  @Roles('data-scientist')
  @ApiOperation({
    summary: 'Start a training run',
    description:
      'Creates the run and starts its trainingPipelineWorkflow (ID train/<model>/<runId>). With an Idempotency-Key, ' +
      'repeating the request returns the same run with 200 and never starts a second workflow.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'the same key for the same model always names the same run' })
  @ApiAcceptedResponse({ type: RunStarted, description: 'the run was created and its workflow started' })
  @ApiOkResponse({ type: RunStarted, description: 'the Idempotency-Key names an existing run' })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'no source, a malformed source, or an HTTP host that is not allowed' })
  @ApiNotFoundResponse({ type: ErrorResponse })
  @ApiConflictResponse({ type: ErrorResponse, description: 'the Idempotency-Key was used for a different request' })
  @ApiServiceUnavailableResponse({ type: ErrorResponse, description: 'Temporal is unavailable; retry with the same Idempotency-Key' })
  async start(
    @Param('name', ModelNamePipe) name: string,
    @Body() body: StartRunBody,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RunStarted> {
    const { run, created } = await this.runs.start(name, body.source, idempotencyKey);
    res.status(created ? 202 : 200).location(run.links.self);
    return run;
  }

  @Get('v1/models/:name/runs')
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({ summary: "A model's runs, newest first" })
  @ApiOkResponse({ type: [RunSummary] })
  @ApiNotFoundResponse({ type: ErrorResponse })
  list(@Param('name', ModelNamePipe) name: string, @Query() query: ListQuery): Promise<RunSummary[]> {
    return this.runs.list(name, query.limit);
  }

  @Get('v1/runs/:id')
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({
    summary: 'A run, with live step-by-step state while its workflow runs',
    description: '`live` says whether the state came from the running workflow or from the registry.',
  })
  @ApiOkResponse({ type: RunView })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  get(@Param('id', new UuidPipe('run id')) id: string): Promise<RunView> {
    return this.runs.get(id);
  }
}
