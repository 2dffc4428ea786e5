/** Rolling versions out: start a rollout, watch the live deployment, pause, resume or roll back the rollout in progress. */
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { badRequest, ErrorResponse } from '../common/api-error';
import { Roles } from '../common/auth/roles.decorator';
import { ModelNamePipe, VersionRefPipe } from '../common/validation';
import type { VersionRef } from '../common/validation';
import { DeploymentQuery, PauseBody, RollbackBody } from './deployments.dto';
import { DeploymentsService } from './deployments.service';
import { DeploymentView, RolloutActionView, RolloutStarted } from './deployments.views';

const unavailable = { type: ErrorResponse, description: 'Temporal is unavailable; retry (every call here is idempotent)' };

@ApiTags('rollouts')
@Controller('v1/models/:name')
export class DeploymentsController {
  constructor(@Inject(DeploymentsService) private readonly deployments: DeploymentsService) {}

  @Post('versions/:version/rollout')
  @Roles('data-scientist')
  @ApiOperation({
    summary: 'Start the rollout of a registered version',
    description:
      "Starts rolloutWorkflow (ID rollout/<model>/v<version>) with the model spec's approval and rollout policy: the " +
      'approval gate (the author of the training run can never approve it), then shadow, canary steps or a blue/green ' +
      "switch with guardrails, and promotion — or compensation back to the champion. The candidate's score and the " +
      "champion's come from the registry (the champion's as measured on the candidate's test rows when the run did). " +
      'Idempotent: when a rollout of this version was started before (by this call or by its training run), it is ' +
      'returned with 200 and nothing new starts.',
  })
  @ApiParam({ name: 'version', description: 'a version number', example: 3 })
  @ApiAcceptedResponse({ type: RolloutStarted, description: 'the rollout was started; follow it at links.deployment, links.approval or in the Temporal UI' })
  @ApiOkResponse({ type: RolloutStarted, description: 'the rollout of this version had been started before (running or finished)' })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'no such model or version' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'the version was rejected, rolled back or retired, or is already the champion' })
  @ApiServiceUnavailableResponse(unavailable)
  async start(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionRefPipe) version: VersionRef,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RolloutStarted> {
    if (version === 'champion') {
      throw badRequest("roll out a version by its number: 'champion' is rolled out already", [{ path: 'version', message: 'must be a version number' }]);
    }
    const started = await this.deployments.startRollout(name, version);
    res.status(started.created ? 202 : 200).location(started.links.deployment);
    return started;
  }

  @Get('deployment')
  @Roles('data-scientist', 'reviewer') // operators and reviewers watch rollouts; `service` keys only call inference
  @ApiOperation({
    summary: "A model's live deployment: routing, replicas, recent traffic and the rollout in progress",
    description:
      'The desired routing (weights per version, shadow target, stage, revision), each serving replica’s last report ' +
      '(converged on the revision, lagging, or stale), requests and errors per version summed over the last `window`, ' +
      'and the running rollout’s live state (its query) if there is one. Without any rollout yet, the champion serves ' +
      'all traffic at revision 0.',
  })
  @ApiOkResponse({ type: DeploymentView })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'a malformed model name or window' })
  @ApiNotFoundResponse({ type: ErrorResponse })
  deployment(@Param('name', ModelNamePipe) name: string, @Query() query: DeploymentQuery): Promise<DeploymentView> {
    return this.deployments.deployment(name, query.window);
  }

  @Post('rollback')
  @Roles('data-scientist', 'reviewer')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Roll back the rollout in progress',
    description:
      'Signals the rollout that owns the current routing to stop and compensate: traffic and the champion alias go back ' +
      'to the champion, and the candidate is marked rolled back (also during a blue/green keep-warm window). 409 when ' +
      'no rollout is in progress: rolling back a promoted version after its keep-warm window is not supported yet.',
  })
  @ApiAcceptedResponse({ type: RolloutActionView, description: 'the rollback was requested; the rollout compensates and ends rolled_back' })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'no reason given' })
  @ApiNotFoundResponse({ type: ErrorResponse })
  @ApiConflictResponse({ type: ErrorResponse, description: 'no rollout of this model is in progress' })
  @ApiServiceUnavailableResponse(unavailable)
  rollback(@Param('name', ModelNamePipe) name: string, @Body() body: RollbackBody): Promise<RolloutActionView> {
    return this.deployments.rollback(name, body.reason);
  }

  @Post('rollout/pause')
  @Roles('data-scientist')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Pause the rollout in progress',
    description: 'The rollout holds its current stage and routing: no further step (and no guardrail reading) until it is resumed. A rollback still works while it is paused.',
  })
  @ApiAcceptedResponse({ type: RolloutActionView })
  @ApiNotFoundResponse({ type: ErrorResponse })
  @ApiConflictResponse({ type: ErrorResponse, description: 'no rollout of this model is in progress' })
  @ApiServiceUnavailableResponse(unavailable)
  pause(@Param('name', ModelNamePipe) name: string, @Body() body: PauseBody): Promise<RolloutActionView> {
    return this.deployments.pause(name, body.reason);
  }

  @Post('rollout/resume')
  @Roles('data-scientist')
  @HttpCode(202)
  @ApiOperation({ summary: 'Resume a paused rollout' })
  @ApiAcceptedResponse({ type: RolloutActionView })
  @ApiNotFoundResponse({ type: ErrorResponse })
  @ApiConflictResponse({ type: ErrorResponse, description: 'no rollout of this model is in progress' })
  @ApiServiceUnavailableResponse(unavailable)
  resume(@Param('name', ModelNamePipe) name: string): Promise<RolloutActionView> {
    return this.deployments.resume(name);
  }
}
