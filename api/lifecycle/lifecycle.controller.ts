/**
 * A model's lifecycle over HTTP: start it (idempotent), read its state, and steer it — retrain now, announce new
 * data, pause and resume. Every signal carries the caller's identity; the workflow re-checks the role itself.
 */
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { lifecycleWorkflowId, newDataSignal, pauseLifecycleSignal, resumeLifecycleSignal, retrainSignal } from '../../libs/contracts';
import { conflict, ErrorResponse, notFound } from '../common/api-error';
import { Roles } from '../common/auth/roles.decorator';
import { RequestContext } from '../common/request-context';
import { ModelNamePipe } from '../common/validation';
import { ModelsService } from '../models/models.service';
import { RunsService } from '../runs/runs.service';
import { LifecycleClient, LifecycleView } from './lifecycle-client';
import { LifecycleActionView, LifecyclePauseBody, NewDataBody, RetrainBody, StartLifecycleBody } from './lifecycle.dto';

const unavailable = { type: ErrorResponse, description: 'Temporal is unavailable; retry (every call here is idempotent)' };

@ApiTags('lifecycle')
@Controller('v1/models/:name')
export class LifecycleController {
  constructor(
    @Inject(LifecycleClient) private readonly lifecycle: LifecycleClient,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(RunsService) private readonly runs: RunsService,
    @Inject(RequestContext) private readonly context: RequestContext,
  ) {}

  @Post('lifecycle')
  @Roles('data-scientist')
  @ApiOperation({
    summary: "Start the model's lifecycle: train, approve, roll out, monitor, retrain — by itself, from now on",
    description:
      'Starts modelLifecycleWorkflow (ID model/<name>). A model without a champion trains at once (on `source`, the ' +
      'latest run’s source, or spec.data.source); one with a champion starts serving and monitoring. Idempotent: 200 ' +
      'with the state when the lifecycle is running already.',
  })
  @ApiAcceptedResponse({ type: LifecycleView, description: 'started' })
  @ApiOkResponse({ type: LifecycleView, description: 'it was running already; nothing new started' })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'a bad source, or no data to train on' })
  @ApiNotFoundResponse({ type: ErrorResponse })
  @ApiServiceUnavailableResponse(unavailable)
  async start(@Param('name', ModelNamePipe) name: string, @Body() body: StartLifecycleBody, @Res({ passthrough: true }) res: Response): Promise<LifecycleView> {
    const model = await this.models.requireModel(name);
    const running = await this.lifecycle.view(name);
    if (running?.status === 'RUNNING') {
      res.status(200);
      return running;
    }
    // A model with no champion trains first: check its data now, so the caller learns at once what is wrong.
    const source = body.source !== undefined || model.championVersion === null ? await this.runs.resolveSource(model, body.source) : undefined;
    const { created } = await this.lifecycle.start(model, this.context.actor, source);
    res.status(created ? 202 : 200);
    return (await this.lifecycle.viewOrUnknown(name))!;
  }

  @Get('lifecycle')
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({ summary: "The lifecycle's live state (also in GET /v1/models/{name})" })
  @ApiOkResponse({ type: LifecycleView })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'no such model, or its lifecycle was never started' })
  @ApiServiceUnavailableResponse(unavailable)
  async view(@Param('name', ModelNamePipe) name: string): Promise<LifecycleView> {
    await this.models.requireModel(name);
    const view = await this.lifecycle.view(name);
    if (!view) throw notFound(`model '${name}' has no lifecycle: start it with POST /v1/models/${name}/lifecycle`);
    return view;
  }

  @Post('retrain')
  @Roles('data-scientist')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Retrain now (on the latest data), through the same evaluation, approval and rollout',
    description: 'Coalesces with other triggers that arrive before the retraining starts: one retraining answers them all.',
  })
  @ApiAcceptedResponse({ type: LifecycleActionView })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiConflictResponse({ type: ErrorResponse, description: 'the lifecycle is not running' })
  @ApiServiceUnavailableResponse(unavailable)
  async retrain(@Param('name', ModelNamePipe) name: string, @Body() body: RetrainBody): Promise<LifecycleActionView> {
    await this.models.requireModel(name);
    return this.send(name, 'retrain', () => this.lifecycle.signal(name, retrainSignal, { actor: this.context.identity, reason: body.reason }));
  }

  @Post('data')
  @Roles('data-scientist', 'service')
  @HttpCode(202)
  @ApiOperation({
    summary: 'New labelled data has arrived: retrain on it',
    description:
      'Upload the file first (POST /v1/models/{name}/datasets) and pass its source, or name an s3:// or allowed http(s):// ' +
      'location. The lifecycle retrains on it (unless monitoring.retrainOn.newData is false in the spec, it starts at once).',
  })
  @ApiAcceptedResponse({ type: LifecycleActionView })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'a bad source' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'the lifecycle is not running' })
  @ApiServiceUnavailableResponse(unavailable)
  async newData(@Param('name', ModelNamePipe) name: string, @Body() body: NewDataBody): Promise<LifecycleActionView> {
    const model = await this.models.requireModel(name);
    const source = await this.runs.resolveSource(model, body.source);
    return this.send(name, 'new_data', () =>
      this.lifecycle.signal(name, newDataSignal, { actor: this.context.identity, source, ...(body.reason ? { reason: body.reason } : {}) }),
    );
  }

  @Post('lifecycle/pause')
  @Roles('data-scientist')
  @HttpCode(202)
  @ApiOperation({ summary: 'Hold retrainings back (triggers queue up; serving and monitoring go on)' })
  @ApiAcceptedResponse({ type: LifecycleActionView })
  @ApiConflictResponse({ type: ErrorResponse, description: 'the lifecycle is not running' })
  async pause(@Param('name', ModelNamePipe) name: string, @Body() body: LifecyclePauseBody): Promise<LifecycleActionView> {
    await this.models.requireModel(name);
    return this.send(name, 'pause', () => this.lifecycle.signal(name, pauseLifecycleSignal, { actor: this.context.identity, ...(body.reason ? { reason: body.reason } : {}) }));
  }

  @Post('lifecycle/resume')
  @Roles('data-scientist')
  @HttpCode(202)
  @ApiOperation({ summary: 'Let queued and new triggers retrain again' })
  @ApiAcceptedResponse({ type: LifecycleActionView })
  @ApiConflictResponse({ type: ErrorResponse, description: 'the lifecycle is not running' })
  async resume(@Param('name', ModelNamePipe) name: string): Promise<LifecycleActionView> {
    await this.models.requireModel(name);
    return this.send(name, 'resume', () => this.lifecycle.signal(name, resumeLifecycleSignal, { actor: this.context.identity }));
  }

  private async send(name: string, action: string, signal: () => Promise<boolean>): Promise<LifecycleActionView> {
    if (!(await signal())) throw conflict(`model '${name}' has no running lifecycle: start it with POST /v1/models/${name}/lifecycle`);
    return { action, workflowId: lifecycleWorkflowId(name), requestedBy: this.context.actor };
  }
}
