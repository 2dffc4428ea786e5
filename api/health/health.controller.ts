/** Liveness (the process answers) and readiness (its dependencies answer), for orchestrators and the launcher. */
import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { ApiException, ErrorResponse } from '../common/api-error';
import { Public } from '../common/auth/roles.decorator';
import { HealthService } from './health.service';
import type { CheckResult } from './health.service';

export class Liveness {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';

  @ApiProperty()
  uptimeSeconds!: number;
}

export class CheckView implements CheckResult {
  @ApiProperty({ enum: ['database', 'storage', 'temporal'] })
  name!: CheckResult['name'];

  @ApiProperty({ enum: ['up', 'down'] })
  status!: CheckResult['status'];

  @ApiProperty()
  latencyMs!: number;

  @ApiProperty({ required: false })
  error?: string;
}

export class Readiness {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';

  @ApiProperty({ type: [CheckView] })
  checks!: CheckView[];
}

@ApiTags('health')
@Public() // probes carry no key
@Controller('health')
export class HealthController {
  constructor(@Inject(HealthService) private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up' })
  @ApiOkResponse({ type: Liveness })
  live(): Liveness {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Database, object storage and Temporal all answer' })
  @ApiOkResponse({ type: Readiness })
  @ApiServiceUnavailableResponse({ type: ErrorResponse, description: '`details` holds every check with its status, latency and error' })
  async ready(): Promise<Readiness> {
    const checks = await this.health.readiness();
    const down = checks.filter((c) => c.status === 'down');
    if (down.length) {
      throw new ApiException(
        503,
        `not ready: ${down.map((c) => `${c.name} (${c.error})`).join('; ')}`,
        checks.map((c) => ({ ...c, path: c.name, message: c.status === 'up' ? 'up' : (c.error ?? 'down') })),
      );
    }
    return { status: 'ok', checks };
  }
}
