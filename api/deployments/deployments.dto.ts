import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class RollbackBody {
  @ApiProperty({ example: 'error reports from the checkout team', description: 'why; recorded with the rollback and in the audit log' })
  @MinLength(1, { message: 'reason cannot be empty: say why the rollout is rolled back' })
  @MaxLength(1000, { message: 'reason must be at most 1000 characters' })
  @IsString({ message: 'reason must be a string' }) // nearest the property: checked first
  reason!: string;
}

export class PauseBody {
  @ApiPropertyOptional({ example: 'waiting for the traffic peak to pass' })
  @IsOptional()
  @MaxLength(1000, { message: 'reason must be at most 1000 characters' })
  @IsString({ message: 'reason must be a string' })
  reason?: string;
}

export class DeploymentQuery {
  @ApiPropertyOptional({ example: '5m', default: '5m', description: "how far back traffic is summed: '30s', '5m', '1h' … (at most 24h)" })
  @IsOptional()
  @Matches(/^\d+(s|m|h)$/, { message: "window must be a duration such as '30s', '5m' or '1h'" })
  @IsString({ message: 'window must be a string' })
  window?: string;
}
