/** GET /metrics: the serving replica's Prometheus metrics (text exposition format 0.0.4), no key needed. */
import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { PROMETHEUS_CONTENT_TYPE } from '../../libs/serving/prometheus';
import { ServingReplica } from '../../libs/serving/replica';
import { ClusterMember } from '../cluster';
import { Public } from '../common/auth/roles.decorator';

@ApiTags('inference')
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(ServingReplica) private readonly replica: ServingReplica,
    /** set in a process of an API group (MLCYCLE_API_PROCESSES > 1): a scrape answers for the whole group */
    @Inject(ClusterMember) private readonly cluster: ClusterMember | null,
  ) {}

  @Get()
  @Public()
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Requests, errors and latency per model, version and kind (live, explicit, shadow); loaded versions; ' +
      'deployment revision, stage and weights; inference threads, queue and batch sizes; prediction-log queue and drops.',
  })
  @ApiProduces(PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'text exposition format 0.0.4', schema: { type: 'string' } })
  async metrics(@Res() res: Response): Promise<void> {
    const body = Buffer.from(this.cluster ? await this.cluster.collect() : this.replica.renderMetrics(), 'utf8');
    // Written as is: express's res.send would reorder the content type's parameters.
    res.status(200);
    res.setHeader('Content-Type', PROMETHEUS_CONTENT_TYPE);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', String(body.length));
    res.end(body);
  }
}
