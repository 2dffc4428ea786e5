/** Approval requests for candidate versions: the reviewers' inbox, one request with its live rollout, and decisions. */
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponse } from '../common/api-error';
import { Roles } from '../common/auth/roles.decorator';
import { UuidPipe } from '../common/validation';
import { DecisionBody, ListApprovalsQuery } from './approvals.dto';
import { ApprovalsService } from './approvals.service';
import { ApprovalSummary, ApprovalView } from './approvals.views';

@ApiTags('approvals')
@Controller('v1/approvals')
export class ApprovalsController {
  constructor(@Inject(ApprovalsService) private readonly approvals: ApprovalsService) {}

  @Get()
  @Roles('reviewer', 'data-scientist')
  @ApiOperation({
    summary: 'Approval requests, newest first (pending by default)',
    description:
      "Each with the candidate version's metrics beside the champion's, the training run's comparison on the same " +
      'held-out rows, the link to the evaluation report, the approvals required, the decisions so far and the expiry. ' +
      'Read from the registry, which the rollout updates right after each decision; GET /v1/approvals/{id} has the live state.',
  })
  @ApiOkResponse({ type: [ApprovalSummary] })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'the model named in `model` does not exist' })
  list(@Query() query: ListApprovalsQuery): Promise<ApprovalSummary[]> {
    return this.approvals.list(query);
  }

  @Get(':id')
  @Roles('reviewer', 'data-scientist')
  @ApiOperation({
    summary: 'An approval request, with its rollout’s live state',
    description: 'While the rollout runs, status and decisions come from its query (`live: true`); once it has finished, from the registry, with the rollout’s final state.',
  })
  @ApiOkResponse({ type: ApprovalView })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  get(@Param('id', new UuidPipe('approval id')) id: string): Promise<ApprovalView> {
    return this.approvals.get(id);
  }

  @Post(':id/decision')
  @Roles('reviewer')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Approve or reject a candidate',
    description:
      'Sent to the rollout workflow as an Update carrying your identity; the workflow checks it again and decides: you ' +
      'need the reviewer role (admin alone is not enough), and the person who started the training run cannot approve ' +
      'its version (four-eyes). With enough approvals the rollout proceeds; one rejection rejects the candidate. The same ' +
      'decision sent again is answered like the first.',
  })
  @ApiOkResponse({ type: ApprovalView, description: 'the request after the decision, as the workflow sees it' })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiForbiddenResponse({ type: ErrorResponse, description: 'not a reviewer, or the author of the run (four-eyes); the message says which' })
  @ApiNotFoundResponse({ type: ErrorResponse })
  @ApiConflictResponse({ type: ErrorResponse, description: 'the request is closed (decided, expired, or its rollout finished), or you decided differently before' })
  @ApiServiceUnavailableResponse({ type: ErrorResponse, description: 'Temporal or the rollout did not answer in time; repeating the same decision is safe' })
  decide(@Param('id', new UuidPipe('approval id')) id: string, @Body() body: DecisionBody): Promise<ApprovalView> {
    return this.approvals.decide(id, body);
  }
}
