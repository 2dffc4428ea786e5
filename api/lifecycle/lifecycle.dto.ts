import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class StartLifecycleBody {
  @ApiPropertyOptional({
    example: 'dataset:3f0c…',
    description: 'the data of the first training when the model has no champion (default: the latest run’s source, or spec.data.source)',
  })
  @IsOptional()
  @MaxLength(2000, { message: 'source must be at most 2000 characters' })
  @IsString({ message: 'source must be a string' })
  source?: string;
}

export class RetrainBody {
  @ApiProperty({ example: 'the Q3 price change', description: 'why; shown in the lifecycle, the run and the audit log' })
  @MinLength(1, { message: 'reason cannot be empty: say why the model should be retrained' })
  @MaxLength(1000, { message: 'reason must be at most 1000 characters' })
  @IsString({ message: 'reason must be a string' })
  reason!: string;
}

export class NewDataBody {
  @ApiProperty({
    example: 'dataset:3f0c…',
    description: 'where the new labelled data is: dataset:<id> from POST /v1/models/{name}/datasets, s3://bucket/key, or an allowed http(s):// URL',
  })
  @MinLength(1, { message: 'source cannot be empty' })
  @MaxLength(2000, { message: 'source must be at most 2000 characters' })
  @IsString({ message: 'source must be a string' })
  source!: string;

  @ApiPropertyOptional({ example: 'October labels from the call centre' })
  @IsOptional()
  @MaxLength(1000, { message: 'reason must be at most 1000 characters' })
  @IsString({ message: 'reason must be a string' })
  reason?: string;
}

export class LifecyclePauseBody {
  @ApiPropertyOptional({ example: 'holiday change freeze' })
  @IsOptional()
  @MaxLength(1000, { message: 'reason must be at most 1000 characters' })
  @IsString({ message: 'reason must be a string' })
  reason?: string;
}

export class LifecycleActionView {
  @ApiProperty({ example: 'retrain', enum: ['retrain', 'new_data', 'pause', 'resume'] })
  action!: string;

  @ApiProperty({ example: 'model/seattle-weather' })
  workflowId!: string;

  @ApiProperty({ example: 'alice@example.com' })
  requestedBy!: string;
}
