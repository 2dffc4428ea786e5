/** Monitoring: ground truth in, window reports (timeline, JSON, a page a person reads) and alerts out. */
import { Body, Controller, Get, Header, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ErrorResponse } from '../common/api-error';
import { Roles } from '../common/auth/roles.decorator';
import { ModelNamePipe, UuidPipe } from '../common/validation';
import { FeedbackBody, LimitQuery, MAX_FEEDBACK_ITEMS } from './monitoring.dto';
import { MonitoringService } from './monitoring.service';
import { AlertView, FeedbackResult, MonitoringReportSummaryView, MonitoringReportView } from './monitoring.views';

@ApiTags('monitoring')
@Controller('v1/models/:name')
export class MonitoringController {
  constructor(@Inject(MonitoringService) private readonly monitoring: MonitoringService) {}

  @Post('feedback')
  @Roles('service', 'data-scientist')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Ground truth for logged predictions, by request ID',
    description:
      `Up to ${MAX_FEEDBACK_ITEMS} items of { requestId, label } (classification) or { requestId, value } (regression). ` +
      "Each monitoring window joins them with the champion's single-row predictions of that window and computes the " +
      'primary metric as evaluation does (online quality); a drop beyond monitoring.maxQualityDrop is concept drift. ' +
      'Idempotent per request ID: the first answer stands; the same answer again is a duplicate, a different one a conflict.',
  })
  @ApiOkResponse({ type: FeedbackResult })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'malformed items, or label/value not matching the task; details name each item' })
  @ApiNotFoundResponse({ type: ErrorResponse })
  feedback(@Param('name', ModelNamePipe) name: string, @Body() body: FeedbackBody): Promise<FeedbackResult> {
    return this.monitoring.feedback(name, body);
  }

  @Get('monitoring')
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({ summary: 'Monitoring windows, latest first', description: 'One entry per closed window: verdict, samples, drifted columns and headline numbers.' })
  @ApiOkResponse({ type: [MonitoringReportSummaryView] })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  timeline(@Param('name', ModelNamePipe) name: string, @Query() query: LimitQuery): Promise<MonitoringReportSummaryView[]> {
    return this.monitoring.timeline(name, query.limit);
  }

  @Get('monitoring/:reportId')
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({ summary: 'One monitoring report', description: 'The registry row, its alerts with their webhook deliveries, and the full report artifact.' })
  @ApiOkResponse({ type: MonitoringReportView })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  report(@Param('name', ModelNamePipe) name: string, @Param('reportId', new UuidPipe('report id')) reportId: string): Promise<MonitoringReportView> {
    return this.monitoring.report(name, reportId);
  }

  @Get('monitoring/:reportId/html')
  @Roles('data-scientist', 'reviewer')
  @Header('Content-Type', 'text/html; charset=utf-8')
  // Self-contained (inline CSS and SVG, no scripts): nothing else may load.
  @Header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
  @ApiProduces('text/html')
  @ApiOperation({
    summary: 'One monitoring report as a page',
    description: 'Verdict on top (why, what to do), then baseline-against-current histograms of each drifting feature and of the predictions, data quality, operations, online quality and metric timelines over the recent windows.',
  })
  @ApiOkResponse({ description: 'text/html' })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  page(@Param('name', ModelNamePipe) name: string, @Param('reportId', new UuidPipe('report id')) reportId: string): Promise<string> {
    return this.monitoring.page(name, reportId);
  }

  @Get('alerts')
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({ summary: "A model's alerts, newest first", description: 'Each with its reason, its report and the delivery status of its webhook (attempts, last status, delivered at).' })
  @ApiOkResponse({ type: [AlertView] })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  alerts(@Param('name', ModelNamePipe) name: string, @Query() query: LimitQuery): Promise<AlertView[]> {
    return this.monitoring.alerts(name, query.limit ?? 100);
  }
}
