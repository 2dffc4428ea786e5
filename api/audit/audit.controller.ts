/** GET /v1/audit: reads the append-only audit log (newest first). */
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { RegistryService } from '../../libs/registry';
import { ErrorResponse } from '../common/api-error';
import { Roles } from '../common/auth/roles.decorator';

export class AuditQuery {
  @ApiPropertyOptional({ example: 'run', description: 'model, dataset, run, model_version, …' })
  @IsOptional()
  @MaxLength(32)
  @IsString()
  entityType?: string;

  @ApiPropertyOptional({ description: 'a model name, a run or dataset id, or <model>@<version>' })
  @IsOptional()
  @MaxLength(200)
  @IsString()
  entityId?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 200 })
  @IsOptional()
  @Type(() => Number)
  // class-validator checks the decorator nearest the property first: the type, then the bounds.
  @Min(1, { message: 'limit must be at least 1' })
  @Max(1000, { message: 'limit must be at most 1000' })
  @IsInt({ message: 'limit must be an integer' })
  limit?: number;
}

export class AuditEventView {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  at!: Date;

  @ApiProperty()
  actor!: string;

  @ApiProperty({ example: 'run.requested' })
  action!: string;

  @ApiProperty()
  entityType!: string;

  @ApiProperty()
  entityId!: string;

  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true })
  details!: Record<string, unknown> | null;
}

@ApiTags('audit')
@Controller('v1/audit')
export class AuditController {
  constructor(@Inject(RegistryService) private readonly registry: RegistryService) {}

  @Get()
  @Roles('reviewer')
  @ApiOperation({ summary: 'Read the audit log, optionally for one entity' })
  @ApiOkResponse({ type: [AuditEventView] })
  @ApiBadRequestResponse({ type: ErrorResponse })
  async list(@Query() query: AuditQuery): Promise<AuditEventView[]> {
    const events = await this.registry.listAudit({ entityType: query.entityType, entityId: query.entityId, limit: query.limit });
    return events.map(({ id, at, actor, action, entityType, entityId, details }) => ({ id, at, actor, action, entityType, entityId, details }));
  }
}
